// The controller: the HTTP API of a local cluster (`nimmer up --port`), fault injection, and the
// aggregated cluster view.
export { nodeName, parseNodeName, type ControllerBackend, type ControlledNode, type DependencyStatus, type NodeControl, type NodeProcessState, type PipelineView } from './backend.ts';
export { aggregateShards, collectClusterView, healthReasons, summariseGroup, type ClusterView, type NodeView, type ShardView } from './cluster_view.ts';
export { ControllerError } from './errors.ts';
export { FaultInjector, FaultSchema, type ActiveFault, type Fault, type FaultResult } from './faults.ts';
export { createController, type Controller, type ControllerOptions } from './server.ts';
