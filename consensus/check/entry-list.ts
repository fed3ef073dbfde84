// The history as time-ordered doubly linked lists of events, from which the search "lifts" an
// operation when it linearizes it and puts it back on backtrack. Lifts and unlifts are
// strictly LIFO, which is what makes unlift O(1).
//
// Two chains: the main one holds ok operations' calls and returns; indeterminate operations'
// calls (they have no return: never due) live in a chain of their own, so scans of the main
// chain never walk over the timed-out operations that stay pending all history long.
// Node ids follow event time order across both chains, so "called before that return" is
// simply "smaller node id".

/** One operation of a partition, ready for the search. */
export interface TimedOperation {
  call: number;
  /** +Infinity for an indeterminate operation. */
  ret: number;
  indeterminate: boolean;
}

export const NODE_HEAD = 0;
export const NODE_NONE = -1;

export const NodeKind = {
  Head: 0,
  OkCall: 1,
  InfoCall: 2,
  Return: 3,
} as const;

export class EntryList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** The operation index of each node (-1 for the heads). */
  readonly nodeOp: Int32Array;
  readonly nodeKind: Uint8Array;
  /** For an ok call node, its return node; NODE_NONE otherwise. */
  readonly nodeMatch: Int32Array;
  /** Head of the indeterminate-call chain (the main chain's head is NODE_HEAD). */
  readonly infoHead: number;

  /**
   * Events are ordered by time; at equal times calls come before returns, so operations that
   * touch at one instant count as concurrent (the permissive reading, as Porcupine does).
   */
  constructor(operations: readonly TimedOperation[]) {
    const eventCount = operations.reduce((count, op) => count + (op.indeterminate ? 1 : 2), 0);
    const eventTime = new Float64Array(eventCount);
    const eventOp = new Int32Array(eventCount);
    const eventIsCall = new Uint8Array(eventCount);
    let e = 0;
    operations.forEach((op, index) => {
      if (!(op.call <= op.ret)) throw new Error(`operation ${index}: ret ${op.ret} precedes call ${op.call}`);
      if (op.indeterminate !== (op.ret === Infinity)) {
        throw new Error(`operation ${index}: indeterminate=${op.indeterminate} but ret=${op.ret}`);
      }
      eventTime[e] = op.call;
      eventOp[e] = index;
      eventIsCall[e++] = 1;
      if (op.indeterminate) return;
      eventTime[e] = op.ret;
      eventOp[e] = index;
      eventIsCall[e++] = 0;
    });
    const order = Int32Array.from({ length: eventCount }, (_, i) => i).sort(
      (a, b) => eventTime[a] - eventTime[b] || eventIsCall[b] - eventIsCall[a] || eventOp[a] - eventOp[b],
    );

    // Node 0 is the main head, nodes 1..eventCount the events in order, then the info head.
    const nodeCount = eventCount + 2;
    this.infoHead = eventCount + 1;
    this.next = new Int32Array(nodeCount).fill(NODE_NONE);
    this.prev = new Int32Array(nodeCount).fill(NODE_NONE);
    this.nodeOp = new Int32Array(nodeCount).fill(-1);
    this.nodeKind = new Uint8Array(nodeCount);
    this.nodeMatch = new Int32Array(nodeCount).fill(NODE_NONE);

    const callNodeOfOp = new Int32Array(operations.length).fill(NODE_NONE);
    let mainTail = NODE_HEAD;
    let infoTail = this.infoHead;
    const append = (tail: number, node: number): number => {
      this.next[tail] = node;
      this.prev[node] = tail;
      return node;
    };
    order.forEach((event, i) => {
      const node = i + 1;
      const op = eventOp[event];
      this.nodeOp[node] = op;
      if (eventIsCall[event] === 1 && operations[op].indeterminate) {
        this.nodeKind[node] = NodeKind.InfoCall;
        infoTail = append(infoTail, node);
      } else if (eventIsCall[event] === 1) {
        this.nodeKind[node] = NodeKind.OkCall;
        callNodeOfOp[op] = node;
        mainTail = append(mainTail, node);
      } else {
        this.nodeKind[node] = NodeKind.Return;
        const callNode = callNodeOfOp[op];
        if (callNode === NODE_NONE) throw new Error(`operation ${op}: return sorted before its call`);
        this.nodeMatch[callNode] = node;
        mainTail = append(mainTail, node);
      }
    });
  }

  /** First node of the main chain (ok calls and returns). */
  first(): number {
    return this.next[NODE_HEAD];
  }

  /** First node of the indeterminate-call chain. */
  firstInfo(): number {
    return this.next[this.infoHead];
  }

  /** The first return in the main chain: the deadline no candidate may be called after. */
  firstReturn(): number {
    let node = this.first();
    while (node !== NODE_NONE && this.nodeKind[node] !== NodeKind.Return) node = this.next[node];
    return node;
  }

  /** Removes a call node and (for an ok operation) its return node from their chain. */
  lift(callNode: number): void {
    this.assertCall(callNode);
    this.unlink(callNode);
    const returnNode = this.nodeMatch[callNode];
    if (returnNode !== NODE_NONE) this.unlink(returnNode);
  }

  /** Undoes the most recent lift; must be called in exact reverse order of lifts. */
  unlift(callNode: number): void {
    this.assertCall(callNode);
    const returnNode = this.nodeMatch[callNode];
    if (returnNode !== NODE_NONE) this.relink(returnNode);
    this.relink(callNode);
  }

  private unlink(node: number): void {
    const before = this.prev[node];
    const after = this.next[node];
    this.next[before] = after;
    if (after !== NODE_NONE) this.prev[after] = before;
  }

  /** Relies on node's own prev/next being untouched since its unlink (LIFO discipline). */
  private relink(node: number): void {
    const before = this.prev[node];
    const after = this.next[node];
    if (this.next[before] !== after) throw new Error(`unlift of node ${node} out of LIFO order`);
    this.next[before] = node;
    if (after !== NODE_NONE) this.prev[after] = node;
  }

  private assertCall(node: number): void {
    const kind = this.nodeKind[node];
    if (kind !== NodeKind.OkCall && kind !== NodeKind.InfoCall) {
      throw new Error(`node ${node} is not a call node (kind ${kind})`);
    }
  }
}
