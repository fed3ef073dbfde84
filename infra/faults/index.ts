// Network fault injection for local clusters: TCP fault proxies on every link, and the faults
// (partitions, latency, bandwidth, resets) as effects on directed member pairs.
export { LinkProxy, type Address, type Direction, type LinkProxyOptions, type LinkProxyStats } from './link_proxy.ts';
export { FaultNetwork, natsMember, nodeMember, type FaultNetworkOptions, type NetworkControl, type LinkKind } from './network.ts';
export { ImpossibleFaultError, majoritiesRing, partitionGroups, planFault, UnknownMemberError, type FaultPlan, type LinkEffect, type Members } from './plan.ts';
export { readProxyPorts, writeProxyPorts, PROXY_PORTS_FILE } from './ports_file.ts';
export { NETWORK_FAULT_TYPES, NetworkFaultSchemas, NodeNameSchema, type NetworkFault } from './spec.ts';
export { combineToxics, NO_TOXICS, type StreamToxics } from './toxics.ts';
