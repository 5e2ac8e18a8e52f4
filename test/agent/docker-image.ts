// Docker test support: whether Docker tests can run here, and a tiny image built offline (FROM scratch plus the
// static busybox of Debian's busybox-static package) through the Engine API, for tests that need a real container.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import Docker from 'dockerode';

export const DOCKER_SOCKET = '/var/run/docker.sock';
/** Where Debian's busybox-static package installs its binary. */
export const BUSYBOX_PATH = '/bin/busybox';
/** The test image's CMD: what a job without a command runs. */
export const TEST_IMAGE_CMD = ['echo', 'image-cmd'];

/** Applets linked into the test image's /bin (busybox runs the one named by argv[0]). */
const APPLETS = ['sh', 'echo', 'printf', 'sleep', 'head', 'tail', 'cat', 'seq', 'wget', 'env', 'true', 'touch'];

/**
 * Why Docker tests cannot run here (no engine answering on the socket, no static busybox), or null when they can.
 * Synchronous, so that a test file can decide with `describe.skipIf` while it is collected.
 */
export function dockerTestsSkipReason(socketPath = DOCKER_SOCKET): string | null {
  if (!engineAnswersSync(socketPath)) {
    const start = 'dockerd --bridge=none --iptables=false --ip-masq=false';
    return `no Docker engine answers on ${socketPath} (start one: ${start})`;
  }
  if (!fs.existsSync(BUSYBOX_PATH)) return `${BUSYBOX_PATH} is missing (apt-get install -y busybox-static)`;
  if (!isStaticElf(BUSYBOX_PATH)) {
    return `${BUSYBOX_PATH} is not static: it cannot run in a FROM scratch image (apt-get install -y busybox-static)`;
  }
  return null;
}

/** Pings the engine from a child process: the answer is needed synchronously. */
function engineAnswersSync(socketPath: string): boolean {
  if (!fs.existsSync(socketPath)) return false;
  const script = `
    const options = { socketPath: ${JSON.stringify(socketPath)}, path: '/_ping', timeout: 3000 };
    const request = require('node:http').get(options, (response) => {
      response.resume();
      process.exit(response.statusCode === 200 ? 0 : 1);
    });
    request.on('error', () => process.exit(1));
    request.on('timeout', () => process.exit(1));`;
  return spawnSync(process.execPath, ['-e', script], { timeout: 5_000, stdio: 'ignore' }).status === 0;
}

/** An ELF executable is static when it names no program interpreter (no PT_INTERP program header). */
function isStaticElf(file: string): boolean {
  const bytes = fs.readFileSync(file);
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2 || bytes[5] !== 1) return false;
  const tableOffset = Number(bytes.readBigUInt64LE(0x20));
  const entrySize = bytes.readUInt16LE(0x36);
  const entries = bytes.readUInt16LE(0x38);
  const PT_INTERP = 3;
  for (let index = 0; index < entries; index += 1) {
    if (bytes.readUInt32LE(tableOffset + index * entrySize) === PT_INTERP) return false;
  }
  return true;
}

/** Builds the test image under `tag` from an in-memory build context; no registry is involved. */
export async function buildBusyboxImage(docker: Docker, tag: string): Promise<void> {
  const dockerfile = [
    'FROM scratch',
    'COPY rootfs/ /',
    'ENV PATH=/bin',
    `CMD ${JSON.stringify(TEST_IMAGE_CMD)}`,
    '',
  ].join('\n');
  const context = tarArchive([
    { type: 'file', name: 'Dockerfile', content: Buffer.from(dockerfile) },
    { type: 'directory', name: 'rootfs/' },
    { type: 'directory', name: 'rootfs/bin/' },
    { type: 'file', name: 'rootfs/bin/busybox', content: fs.readFileSync(BUSYBOX_PATH), mode: 0o755 },
    ...APPLETS.map((applet) => ({ type: 'symlink' as const, name: `rootfs/bin/${applet}`, target: 'busybox' })),
  ]);
  const stream = await docker.buildImage(Readable.from([context]), { t: tag, rm: true, forcerm: true });
  const events = await new Promise<unknown[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (error, output) => (error ? reject(error) : resolve(output)));
  });
  for (const event of events) {
    if (typeof event === 'object' && event !== null && 'error' in event) {
      throw new Error(`building ${tag} failed: ${String(event.error)}`);
    }
  }
  await docker.getImage(tag).inspect();
}

export async function removeImage(docker: Docker, tag: string): Promise<void> {
  await docker.getImage(tag).remove({ force: true });
}

type TarEntry =
  | { type: 'file'; name: string; content: Buffer; mode?: number }
  | { type: 'directory'; name: string }
  | { type: 'symlink'; name: string; target: string };

/** A minimal ustar archive: enough for a build context (short names, files, folders, symlinks). */
function tarArchive(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.type === 'file' ? entry.content : Buffer.alloc(0);
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'utf8');
    const octal = (offset: number, length: number, value: number) =>
      field(offset, length, value.toString(8).padStart(length - 1, '0'));
    if (Buffer.byteLength(entry.name) > 100) throw new Error(`tar entry name too long: ${entry.name}`);
    field(0, 100, entry.name);
    octal(100, 8, entry.type === 'file' ? (entry.mode ?? 0o644) : entry.type === 'directory' ? 0o755 : 0o777);
    octal(108, 8, 0); // uid
    octal(116, 8, 0); // gid
    octal(124, 12, content.length);
    octal(136, 12, Math.floor(Date.now() / 1000));
    field(148, 8, '        '); // checksum, counted as spaces while it is computed
    field(156, 1, entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2');
    if (entry.type === 'symlink') field(157, 100, entry.target);
    field(257, 6, 'ustar\0');
    field(263, 2, '00');
    let checksum = 0;
    for (const byte of header) checksum += byte;
    field(148, 8, `${checksum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header, content);
    const padding = (512 - (content.length % 512)) % 512;
    if (padding > 0) blocks.push(Buffer.alloc(padding));
  }
  blocks.push(Buffer.alloc(1024)); // two empty blocks end the archive
  return Buffer.concat(blocks);
}
