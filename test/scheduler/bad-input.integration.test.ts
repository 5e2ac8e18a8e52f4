// Bad input to the scheduler, from people and from agents: typed errors naming the problem, nothing written;
// and a node credential acts for its own node only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, graphql } from '../support/graphql';
import { createJoinToken, SUBMIT } from '../support/agents';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const REGISTER = `mutation($input: RegisterNodeInput!) { registerNode(input: $input) { node { id name } credential userErrors { field message code } } }`;
const HEARTBEAT = `mutation($input: NodeHeartbeatInput!) { nodeHeartbeat(input: $input) { assignments { attemptId jobId token } stop { attemptId } userErrors { field message } } }`;
const REPORT = `mutation($input: ReportAttemptInput!) { reportAttempt(input: $input) { accepted stop userErrors { field message code } } }`;

describe('bad input to the scheduler', () => {
  let touchline: TestPlatform;
  beforeAll(async () => {
    touchline = await startTestPlatform('sqlite');
  });
  afterAll(() => touchline?.destroy());

  const jobCount = async () => (await touchline.gql(`{ jobs { totalCount } }`)).data?.jobs.totalCount;
  const register = async (joinToken: string, input: Record<string, unknown>) => graphql(touchline.url, REGISTER, { input }, { key: joinToken });
  const node = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    capacity: { cpuMillicores: 2000, memoryMiB: 2048 },
    runtimes: ['process'],
    agentVersion: 'test',
    ...extra,
  });

  it.each([
    [{ command: ['true'], resources: { cpuMillicores: -5 } }, ['input', 'resources', 'cpuMillicores'], 'INVALID', /from 1 to 1024000/],
    [{ command: ['true'], resources: { memoryMiB: 999_999_999_999 } }, null, null, null],
    [{ command: ['true'], resources: { gpuCount: 65 } }, ['input', 'resources', 'gpuCount'], 'INVALID', /from 0 to 64/],
    [{ command: ['true'], resources: { gpuMemoryMiB: 1024 } }, ['input', 'resources', 'gpuMemoryMiB'], 'INVALID', /without any GPU/],
    [{ command: ['true'], env: [{ name: '1BAD', value: 'x' }] }, ['input', 'env', '0', 'name'], 'INVALID', /not an environment variable name/],
    [{ command: ['true'], env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] }, ['input', 'env', '1', 'name'], 'INVALID', /given twice/],
    [{ command: ['true'], env: [{ name: 'TOUCHLINE_JOB_ID', value: 'x' }] }, ['input', 'env', '0', 'name'], 'INVALID', /set by Touchline/],
    [{}, ['input', 'command'], 'REQUIRED', /say what to run/],
    [{ command: [''] }, ['input', 'command'], 'INVALID', /must not be empty/],
    [{ image: 'x', modelVersion: { model: 'xg', version: '1.0.0' } }, ['input', 'modelVersion'], 'INVALID', /not both/],
    [{ modelVersion: { model: 'xg', version: '9.9.9' } }, ['input', 'modelVersion'], 'NOT_FOUND', /no version 9.9.9 of a model named "xg"/],
    [{ command: ['true'], priority: 5000 }, ['input', 'priority'], 'INVALID', /from 0 to 1000/],
    [{ command: ['true'], retry: { maxAttempts: 0 } }, ['input', 'retry', 'maxAttempts'], 'INVALID', /from 1 to 20/],
    [{ command: ['true'], timeoutSeconds: 0 }, ['input', 'timeoutSeconds'], 'INVALID', /from 1 to/],
    [{ command: ['true'], nodeSelector: [{ key: 'Bad Key', value: 'x' }] }, ['input', 'nodeSelector', '0', 'key'], 'INVALID', /not a label key/],
  ])('refuses %j with a user error and writes nothing', async (input, field, code, message) => {
    const before = await jobCount();
    const result = await touchline.gql(SUBMIT, { input });
    if (field === null) {
      // An Int beyond 32 bits is not even valid GraphQL.
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
    } else {
      expect(result.errors).toBeUndefined();
      expect(result.data?.submitJob.userErrors).toContainEqual({ field, code, message: expect.stringMatching(message!) });
    }
    expect(await jobCount()).toBe(before);
  });

  it('refuses join tokens that are forged, revoked or used up, and bad registrations', async () => {
    const single = await createJoinToken(touchline, 1);
    const forged = `${single.slice(0, -4)}AAAA`;
    const refused = await register(forged, node('forged'));
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.message).toBe('Invalid join token');

    const bad = await register(single, node('Bad Name', { capacity: { cpuMillicores: -1, memoryMiB: 10, gpus: [{ index: 0, memoryMiB: 1 }, { index: 0, memoryMiB: 1 }] }, runtimes: ['vm'] }));
    expect(bad.data?.registerNode.userErrors.map((e: { field: string[] }) => e.field.join('.'))).toEqual([
      'input.name', 'input.capacity.cpuMillicores', 'input.capacity.gpus.1.index', 'input.runtimes.0',
    ]);

    expect((await register(single, node('first'))).data?.registerNode.credential).toMatch(/^tln_/);
    const usedUp = await register(single, node('second'));
    expect(usedUp.errors?.[0]).toMatchObject({ message: expect.stringMatching(/used up/), extensions: { code: 'UNAUTHENTICATED' } });

    const revocable = await touchline.gql(`mutation { createJoinToken(input: {name: "r"}) { token joinToken { id } } }`);
    await touchline.gql(`mutation($id: ID!) { revokeJoinToken(input: {id: $id}) { joinToken { revokedAt } } }`, { id: revocable.data?.createJoinToken.joinToken.id });
    const revoked = await register(revocable.data?.createJoinToken.token, node('third'));
    expect(revoked.errors?.[0]?.message).toMatch(/revoked/);
    const names = (await touchline.gql(`{ nodes { nodes { name } } }`)).data?.nodes.nodes.map((n: { name: string }) => n.name);
    expect(names).toEqual(['first']);
  });

  it('lets a node credential act for its own node only, and for nothing else', async () => {
    const joinToken = await createJoinToken(touchline, 2);
    const x = (await register(joinToken, node('node-x', { labels: [{ key: 'pool', value: 'x' }] }))).data?.registerNode;
    const y = (await register(joinToken, node('node-y', { labels: [{ key: 'pool', value: 'y' }] }))).data?.registerNode;
    const { job } = (await touchline.gql(SUBMIT, { input: { command: ['sleep', '60'], nodeSelector: [{ key: 'pool', value: 'y' }] } })).data?.submitJob;

    // y sees the job; x does not.
    let assignment: { attemptId: string; jobId: string; token: string } | undefined;
    for (let i = 0; i < 50 && !assignment; i++) {
      assignment = (await graphql(touchline.url, HEARTBEAT, { input: { running: [] } }, { key: y.credential })).data?.nodeHeartbeat.assignments[0];
      if (!assignment) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(assignment?.jobId).toBe(job.id);
    const xBeat = await graphql(touchline.url, HEARTBEAT, { input: { running: [{ attemptId: assignment!.attemptId, state: 'RUNNING' }] } }, { key: x.credential });
    expect(xBeat.data?.nodeHeartbeat.assignments).toEqual([]);
    expect(xBeat.data?.nodeHeartbeat.stop).toEqual([{ attemptId: assignment!.attemptId }]);

    // x cannot report about y's attempt, even with its token; y can.
    const forged = await graphql(touchline.url, REPORT, { input: { attemptId: assignment!.attemptId, token: assignment!.token, event: 'EXITED', reason: 'EXITED', exitCode: 0 } }, { key: x.credential });
    expect(forged.data?.reportAttempt).toEqual({ accepted: false, stop: true, userErrors: [] });
    expect((await touchline.gql(`query($id: ID!) { job(id: $id) { state } }`, { id: job.id })).data?.job.state).toBe('SCHEDULED');
    const real = await graphql(touchline.url, REPORT, { input: { attemptId: assignment!.attemptId, token: assignment!.token, event: 'RUNNING' } }, { key: y.credential });
    expect(real.data?.reportAttempt).toEqual({ accepted: true, stop: false, userErrors: [] });
    const noReason = await graphql(touchline.url, REPORT, { input: { attemptId: assignment!.attemptId, token: assignment!.token, event: 'EXITED' } }, { key: y.credential });
    expect(noReason.data?.reportAttempt.userErrors).toEqual([{ field: ['input', 'reason'], message: 'an EXITED report needs a reason', code: 'REQUIRED' }]);

    // A node credential is good for nothing but its node's own calls.
    for (const operation of [`{ jobs { totalCount } }`, `{ nodes { totalCount } }`, `mutation { submitJob(input: {command: ["true"]}) { job { id } } }`, `{ models { totalCount } }`]) {
      const result = await graphql(touchline.url, operation, {}, { key: x.credential });
      expect(errorCode(result), operation).toBe('FORBIDDEN');
    }
    await touchline.gql(`mutation($id: ID!) { cancelJob(input: {id: $id}) { job { state } } }`, { id: job.id });
  });

  it('refuses a removed node\'s credential', async () => {
    const joinToken = await createJoinToken(touchline, 1);
    const z = (await register(joinToken, node('node-z'))).data?.registerNode;
    const removed = await touchline.gql(`mutation($id: ID!) { removeNode(input: {id: $id}) { node { name } userErrors { message } } }`, { id: z.node.id });
    expect(removed.data?.removeNode.userErrors).toEqual([]);
    const beat = await graphql(touchline.url, HEARTBEAT, { input: { running: [] } }, { key: z.credential });
    expect(beat.errors?.[0]).toMatchObject({ message: expect.stringMatching(/removed: enroll it again/), extensions: { code: 'FORBIDDEN' } });
  });
});
