// /metrics of a compositor worker: tier budgets, load, queueing and demotion; events composed.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class CompositorMetrics {
  readonly registry = new Registry();
  readonly tierBudget = new Gauge({ name: 'nimmer_compositor_tier_budget', help: 'Slots of a model tier allowed to run at once in this worker', labelNames: ['tier'], registers: [this.registry] });
  readonly tierActive = new Gauge({ name: 'nimmer_compositor_tier_active', help: 'Slots running on a model tier now', labelNames: ['tier'], registers: [this.registry] });
  readonly tierQueued = new Gauge({ name: 'nimmer_compositor_tier_queued', help: 'Slots waiting for a model tier now', labelNames: ['tier'], registers: [this.registry] });
  readonly slots = new Counter({ name: 'nimmer_compositor_slots_total', help: 'Slots composed, by the tier they ran on and the tier they asked for', labelNames: ['tier', 'requested'], registers: [this.registry] });
  readonly demotions = new Counter({ name: 'nimmer_compositor_demotions_total', help: 'Slots demoted to a lower tier because theirs was saturated', labelNames: ['from', 'to'], registers: [this.registry] });
  readonly queuedTotal = new Counter({ name: 'nimmer_compositor_slots_queued_total', help: 'Slots that had to wait for their tier', labelNames: ['tier'], registers: [this.registry] });
  readonly tierWait = new Histogram({ name: 'nimmer_compositor_tier_wait_seconds', help: 'Time a slot waited for a tier permit', labelNames: ['tier'], buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60], registers: [this.registry] });
  readonly events = new Counter({ name: 'nimmer_compositor_events_total', help: 'Events by result (composed, failed)', labelNames: ['result'], registers: [this.registry] });
  readonly canonRows = new Counter({ name: 'nimmer_compositor_canon_rows_total', help: 'Canon rows written', registers: [this.registry] });
  readonly composeSeconds = new Histogram({ name: 'nimmer_compositor_compose_seconds', help: 'Pickup to commit, per event', buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60], registers: [this.registry] });
  readonly inFlight = new Gauge({ name: 'nimmer_compositor_events_in_flight', help: 'Events being composed now', registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'nimmer_compositor_register_waiting', help: 'Events waiting in the register (all workers), as last seen', registers: [this.registry] });

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'nimmer_compositor_process_' });
  }
}
