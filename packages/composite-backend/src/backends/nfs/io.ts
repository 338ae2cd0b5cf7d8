// NFSBackend's file-system seam: promises over raw descriptors and an injectable callback-style fs.
import type * as nodeFs from "node:fs";
import type { BigIntStats, Dirent, Stats } from "node:fs";

/**
 * The callback-style `node:fs` functions the NFS backend uses: `node:fs` itself by default, or
 * a wrapper around it (tests inject ESTALE, EACCES or a full disk here).
 */
export type NfsFileSystem = Pick<
  typeof nodeFs,
  | "open"
  | "close"
  | "fstat"
  | "read"
  | "write"
  | "fsync"
  | "stat"
  | "lstat"
  | "realpath"
  | "readlinkSync"
  | "readdir"
  | "mkdir"
  | "rmdir"
  | "rename"
  | "unlink"
  | "link"
  | "chmod"
>;

type Callback<T> = (error: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(run: (done: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    run((error, value) => (error ? reject(error) : resolve(value))),
  );
}

/**
 * Promises over plain file descriptors. The FileHandle API of node:fs/promises costs a
 * measurable share of a small read (object setup, close bookkeeping); raw descriptors keep the
 * backend within a few percent of fs.promises.readFile.
 */
export class NfsIo {
  constructor(private readonly fs: NfsFileSystem) {}

  open(path: string, flags: number, mode = 0o666): Promise<number> {
    return call<number>((done) => this.fs.open(path, flags, mode, done));
  }

  close(fd: number): Promise<void> {
    return call<void>((done) => this.fs.close(fd, (error) => done(error ?? null, undefined)));
  }

  fstat(fd: number): Promise<Stats> {
    return call<Stats>((done) => this.fs.fstat(fd, done));
  }

  fstatBig(fd: number): Promise<BigIntStats> {
    return call<BigIntStats>((done) => this.fs.fstat(fd, { bigint: true }, done));
  }

  read(
    fd: number,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
  ): Promise<number> {
    return call<number>((done) => this.fs.read(fd, buffer, offset, length, position, done));
  }

  async writeAll(fd: number, data: Uint8Array): Promise<void> {
    for (let written = 0; written < data.byteLength; ) {
      written += await call<number>((done) =>
        this.fs.write(fd, data, written, data.byteLength - written, null, done),
      );
    }
  }

  fsync(fd: number): Promise<void> {
    return call<void>((done) => this.fs.fsync(fd, (error) => done(error, undefined)));
  }

  stat(path: string): Promise<Stats> {
    return call<Stats>((done) => this.fs.stat(path, done));
  }

  lstat(path: string): Promise<Stats> {
    return call<Stats>((done) => this.fs.lstat(path, done));
  }

  /** The libuv realpath (one syscall walk), not the JS emulation behind fs.realpath. */
  realpath(path: string): Promise<string> {
    return call<string>((done) => this.fs.realpath.native(path, done));
  }

  /**
   * Which file a descriptor really is. Synchronous on purpose: procfs answers from kernel memory
   * in ~3 µs, never waiting on a disk or the network, which is cheaper than a thread-pool round
   * trip.
   */
  descriptorPath(fd: number): string {
    return this.fs.readlinkSync(`/proc/self/fd/${fd}`);
  }

  readdir(path: string): Promise<string[]> {
    return call<string[]>((done) => this.fs.readdir(path, done));
  }

  readdirTyped(path: string): Promise<Dirent[]> {
    return call<Dirent[]>((done) => this.fs.readdir(path, { withFileTypes: true }, done));
  }

  /** One directory, never its parents: each component is created inside a checked parent. */
  mkdir(path: string, mode: number): Promise<void> {
    return call<void>((done) => this.fs.mkdir(path, { mode }, (error) => done(error, undefined)));
  }

  rmdir(path: string): Promise<void> {
    return call<void>((done) => this.fs.rmdir(path, (error) => done(error, undefined)));
  }

  rename(from: string, to: string): Promise<void> {
    return call<void>((done) => this.fs.rename(from, to, (error) => done(error, undefined)));
  }

  unlink(path: string): Promise<void> {
    return call<void>((done) => this.fs.unlink(path, (error) => done(error, undefined)));
  }

  link(existing: string, path: string): Promise<void> {
    return call<void>((done) => this.fs.link(existing, path, (error) => done(error, undefined)));
  }

  chmod(path: string, mode: number): Promise<void> {
    return call<void>((done) => this.fs.chmod(path, mode, (error) => done(error, undefined)));
  }

  /** Creates `path` exclusively (never through a symlink) and writes `data`, fsynced if asked. */
  async createFile(
    path: string,
    flags: number,
    data: Uint8Array,
    mode: number,
    sync: boolean,
  ): Promise<void> {
    const fd = await this.open(path, flags, mode);
    try {
      await this.writeAll(fd, data);
      if (sync) await this.fsync(fd);
    } catch (error) {
      await this.close(fd).catch(() => undefined);
      await this.unlink(path).catch(() => undefined);
      throw error;
    }
    await this.close(fd);
  }
}
