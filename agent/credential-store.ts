// Where an agent keeps its node's identity between restarts: a file only its user can read.
import fs from 'node:fs';
import path from 'node:path';

export interface StoredCredential {
  nodeId: string;
  nodeName: string;
  credential: string;
  gatewayUrl: string;
}

export class CredentialStore {
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'credential.json');
  }

  load(): StoredCredential | undefined {
    try {
      const value = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<StoredCredential>;
      if (value.nodeId && value.nodeName && value.credential && value.gatewayUrl) return value as StoredCredential;
    } catch {
      // no credential yet
    }
    return undefined;
  }

  save(credential: StoredCredential): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(credential, null, 2), { mode: 0o600 });
    fs.renameSync(temporary, this.file);
  }

  forget(): void {
    fs.rmSync(this.file, { force: true });
  }
}

/** What the agent remembers of each attempt it runs, so that after a restart it can still report about it. */
export interface AttemptRecord {
  attemptId: string;
  jobId: string;
  token: string;
  runtime: string;
}

export class AttemptRecords {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'attempts');
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  save(record: AttemptRecord): void {
    fs.writeFileSync(path.join(this.dir, `${record.attemptId}.json`), JSON.stringify(record), { mode: 0o600 });
  }

  remove(attemptId: string): void {
    fs.rmSync(path.join(this.dir, `${attemptId}.json`), { force: true });
  }

  all(): AttemptRecord[] {
    return fs
      .readdirSync(this.dir)
      .filter((file) => file.endsWith('.json'))
      .flatMap((file) => {
        try {
          return [JSON.parse(fs.readFileSync(path.join(this.dir, file), 'utf8')) as AttemptRecord];
        } catch {
          return [];
        }
      });
  }
}
