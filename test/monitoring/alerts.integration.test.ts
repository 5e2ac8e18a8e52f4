// Alerting through the gateway: the built-in rules are there from the start, a bad rule is refused with errors naming
// its fields, and a rule on a model metric goes PENDING, FIRING and RESOLVED as samples cross its threshold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_RULES } from '../../subgraphs/monitoring/alerting/built-in-rules';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const RULES = `query { alertRules(first: 100) { totalCount nodes { id name builtIn enabled metric comparison threshold } } }`;
const CREATE = `mutation($input: CreateAlertRuleInput!) {
  createAlertRule(input: $input) { alertRule { id name metric by comparison threshold forMs windowMs } userErrors { field message code } }
}`;
const UPDATE = `mutation($input: UpdateAlertRuleInput!) {
  updateAlertRule(input: $input) { alertRule { id threshold enabled } userErrors { field message code } }
}`;
const DELETE = `mutation($input: DeleteAlertRuleInput!) { deleteAlertRule(input: $input) { deletedId userErrors { field code } } }`;
const REPORT = `mutation($input: ReportMetricsInput!) { reportMetrics(input: $input) { accepted rejected { field reason } } }`;
const ALERTS = `query($state: AlertState) {
  alerts(state: $state) { fingerprint ruleName severity state labels { key value } value activeAt firedAt resolvedAt summary }
}`;

const model = [
  { key: 'model', value: 'xg-shot-model' },
  { key: 'version', value: '1.2.0' },
];

const brierRule = {
  name: 'BrierScoreHigh',
  metric: 'model_brier_score',
  aggregation: 'LAST',
  windowMs: 60_000,
  by: ['model'],
  comparison: 'GT',
  threshold: 0.3,
  forMs: 2_000,
  severity: 'CRITICAL',
  summary: 'Model {{ $labels.model }} scores {{ $value }}',
};

interface AlertView {
  ruleName: string;
  state: string;
  labels: { key: string; value: string }[];
  value: number | null;
  activeAt: string;
  firedAt: string | null;
  resolvedAt: string | null;
  summary: string;
  severity: string;
}

describe('alerts', () => {
  let touchline: TestPlatform;

  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite', { env: { TOUCHLINE_ALERT_EVALUATION_SECONDS: '1' } });
  });
  afterAll(async () => {
    await touchline?.destroy();
  });

  async function report(value: number) {
    const response = await touchline.gql(REPORT, { input: { samples: [{ name: 'model_brier_score', labels: model, value }] } });
    expect(response.data?.reportMetrics).toEqual({ accepted: 1, rejected: [] });
  }

  async function alertOf(rule: string, state: string, timeoutMs = 15_000): Promise<AlertView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await touchline.gql<{ alerts: AlertView[] }>(ALERTS, { state });
      expect(response.errors).toBeUndefined();
      const found = response.data?.alerts.find((alert) => alert.ruleName === rule);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${state} alert of ${rule} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('lists the built-in rules from the start', async () => {
    const response = await touchline.gql(RULES);
    expect(response.errors).toBeUndefined();
    const builtIn = response.data?.alertRules.nodes.filter((rule: { builtIn: boolean }) => rule.builtIn);
    expect(builtIn.map((rule: { name: string }) => rule.name).sort()).toEqual(BUILT_IN_RULES.map((rule) => rule.name).sort());
    const nodeDown = await touchline.gql(DELETE, { input: { id: 'builtin-node-down' } });
    expect(nodeDown.data?.deleteAlertRule).toEqual({ deletedId: null, userErrors: [{ field: ['input', 'id'], code: 'CONFLICT' }] });
  });

  it('refuses a bad rule with errors naming each field at fault', async () => {
    const response = await touchline.gql(CREATE, {
      input: {
        ...brierRule,
        name: 'Broken',
        metric: '1bad-name',
        comparison: 'ABOVE',
        forMs: -5,
        windowMs: 0,
        matchers: [{ label: 'model', op: '=~', value: 'xg-(' }],
      },
    });
    expect(response.errors).toBeUndefined();
    expect(response.data?.createAlertRule.alertRule).toBeNull();
    const fields = response.data?.createAlertRule.userErrors.map((error: { field: string[] }) => error.field.join('.'));
    expect(fields.sort()).toEqual(['input.comparison', 'input.forMs', 'input.matchers.0.value', 'input.metric', 'input.windowMs']);

    // GraphQL's Float carries no NaN or Infinity: such a threshold never reaches the service.
    const notANumber = await touchline.gql(CREATE, { input: { ...brierRule, name: 'NotANumber', threshold: 'NaN' } });
    expect(notANumber.errors?.length).toBeGreaterThan(0);

    const rules = await touchline.gql(RULES);
    expect(rules.data?.alertRules.nodes.map((rule: { name: string }) => rule.name)).not.toContain('Broken');
  });

  it('raises an alert that goes pending, fires after its `for`, and resolves', async () => {
    const created = await touchline.gql(CREATE, { input: brierRule });
    expect(created.data?.createAlertRule.userErrors).toEqual([]);
    const ruleId: string = created.data?.createAlertRule.alertRule.id;
    const duplicate = await touchline.gql(CREATE, { input: brierRule });
    expect(duplicate.data?.createAlertRule.userErrors).toEqual([expect.objectContaining({ field: ['input', 'name'], code: 'ALREADY_EXISTS' })]);

    await report(0.45);
    const pending = await alertOf('BrierScoreHigh', 'PENDING');
    expect(pending).toMatchObject({
      severity: 'CRITICAL',
      labels: [{ key: 'model', value: 'xg-shot-model' }],
      value: 0.45,
      firedAt: null,
      summary: 'Model xg-shot-model scores 0.45',
    });

    const firing = await alertOf('BrierScoreHigh', 'FIRING');
    expect(firing.activeAt).toBe(pending.activeAt);
    expect(Date.parse(firing.firedAt!) - Date.parse(firing.activeAt)).toBeGreaterThanOrEqual(2_000);

    await report(0.1);
    const resolved = await alertOf('BrierScoreHigh', 'RESOLVED');
    expect(resolved.firedAt).toBe(firing.firedAt);
    expect(resolved.resolvedAt).not.toBeNull();

    const raised = await touchline.gql(UPDATE, { input: { id: ruleId, threshold: 0.5, enabled: false } });
    expect(raised.data?.updateAlertRule).toEqual({ alertRule: { id: ruleId, threshold: 0.5, enabled: false }, userErrors: [] });
    const negative = await touchline.gql(UPDATE, { input: { id: ruleId, keepFiringForMs: -1 } });
    expect(negative.data?.updateAlertRule.userErrors).toEqual([expect.objectContaining({ field: ['input', 'keepFiringForMs'] })]);
  }, 60_000);
});
