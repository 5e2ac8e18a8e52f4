// The agent's side of the wire: GraphQL calls to the gateway with the node's credential. Transport failures
// throw GatewayUnavailable (the agent retries); refusals throw AgentRefused (it must not simply retry).
import http from 'node:http';
import https from 'node:https';
import fetch from 'node-fetch';

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 8, timeout: 60_000 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 8, timeout: 60_000 }),
};

export class GatewayUnavailable extends Error {}

export class AgentRefused extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

export interface UserErrorShape {
  field: string[] | null;
  message: string;
}

export class GatewayClient {
  constructor(
    readonly url: string,
    private credential: string,
  ) {}

  useCredential(credential: string): void {
    this.credential = credential;
  }

  /** The Authorization value this client sends (also what the assignment subscription connects with). */
  authorization(): string {
    return `Bearer ${this.credential}`;
  }

  async call<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    let response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: this.authorization() },
        body: JSON.stringify({ query, variables }),
        agent: this.url.startsWith('https:') ? agents.https : agents.http,
        timeout: 30_000,
      });
    } catch (error) {
      throw new GatewayUnavailable(`the gateway at ${this.url} did not answer: ${(error as Error).message}`);
    }
    let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new GatewayUnavailable(`the gateway at ${this.url} answered HTTP ${response.status} without JSON`);
    }
    const error = body.errors?.[0];
    if (error) {
      const code = error.extensions?.code;
      if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN' || code === 'BAD_USER_INPUT' || code === 'GRAPHQL_VALIDATION_FAILED') {
        throw new AgentRefused(error.message, code);
      }
      throw new GatewayUnavailable(`the gateway answered: ${error.message}`);
    }
    if (!body.data) throw new GatewayUnavailable(`the gateway answered HTTP ${response.status} without data`);
    return body.data;
  }
}
