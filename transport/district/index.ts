// The district-distribution fallback (Option B).
export { DistrictCoordinator, type CoordinatorStats } from './coordinator.ts';
export { DISTRICT_MIGRATIONS, DistrictConfigSchema, type DistrictConfig, type DistrictConfigInput } from './config.ts';
export { decideMode, type DistrictMode } from './health.ts';
export { DeliveryReplySchema, DeliveryRequestSchema, playerInboxSubject, PRESENCE_SUBJECT } from './package.ts';
export { districtSubjectFilter } from './tail.ts';
export { DistrictHost, DistrictHostConfigSchema, type DistrictHostConfig, type DistrictHostConfigInput, type DistrictHostView, type DistrictView } from './host.ts';
export type { SharedConnections } from './coordinator.ts';
