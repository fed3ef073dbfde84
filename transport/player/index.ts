// The player client library: replay from the player's own checkpoint into its SQLite, exactly once.
export { districtScope, PlayerClient, type ApplyListener, type ApplyPath } from './client.ts';
export { PlayerClientConfigSchema, RetentionPolicySchema, type PlayerClientConfig, type PlayerClientConfigInput, type RetentionPolicy } from './config.ts';
export { PlayerFleet, type FleetOptions } from './fleet.ts';
export { OrderedStream, type OrderedStreamOptions } from './ordered_stream.ts';
export { LocalStore, type ApplyResult, type PruneResult, type StreamDelivery } from './local_store.ts';
export { eventsOfPlayer, PLAYER_MIGRATIONS } from './login_feed.ts';
export { PlayerDbInUseError } from './owner_lock.ts';
export { acknowledgeDelivered, type DeliveryAckAnswer, type DeliveryAckOptions } from './delivery_ack.ts';
export { DeliveryAcker, DeliveryAckConfigSchema, type AckListener, type DeliveryAckConfig, type DeliveryAckConfigInput, type DeliveryAckStats, type FinalAckAnswer } from './delivery_acker.ts';
