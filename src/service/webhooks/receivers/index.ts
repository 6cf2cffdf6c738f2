import type { Receiver } from '../receiver';
import { alertmanager } from './alertmanager';
import { datadog } from './datadog';
import { generic } from './generic';
import { grafana } from './grafana';
import { pagerduty } from './pagerduty';

export const RECEIVERS: readonly Receiver[] = [alertmanager, grafana, pagerduty, datadog, generic];
