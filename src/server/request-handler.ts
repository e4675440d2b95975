import { ErrorCode, ParecoError, type DataManyResponse, type PutManyRequest, type ReadManyRequest, type Request, type Response } from '../../protocol/index.js';
import { batchPayload } from '../fs/batch-payload.js';
import { releaseReceiveBuffer } from '../transport/receive-buffers.js';
import type { Session } from './session.js';

/** A response, and what to call once it has been sent (a pooled read buffer goes back). */
export interface Handled {
  response: Response;
  release?: () => void;
}

/** Carries out one request of a joined lane on its session's tree and returns the response. */
export async function handleRequest(session: Session, request: Request): Promise<Handled> {
  const response = await respond(session, request);
  return 'release' in response ? { response: response.response, release: response.release } : { response };
}

async function respond(session: Session, request: Request): Promise<Response | Required<Handled>> {
  const { tree } = session;
  const id = request.id;
  switch (request.t) {
    case 'list': {
      const { entries, done } = await session.listBatch(request.seq, request.digests);
      return { t: 'entries', id, entries, done };
    }
    case 'stat':
      return { t: 'stat', id, entry: await tree.stat(request.path) };
    case 'hash': {
      const { size, partial, digests } = await tree.digests(request.path, request.from, request.count);
      return { t: 'hashes', id, size, partial, digests };
    }
    case 'blocks':
      return { t: 'blocklist', id, digests: await tree.blockDigests(request.path, request.index) };
    case 'read': {
      const { data, digest, size, mtime, release } = await tree.read(request.path, request.offset, request.length);
      session.bytesSent += data.length;
      const response: Response = { t: 'data', id, data, digest, size, mtime };
      return release === undefined ? response : { response, release };
    }
    case 'readmany':
      return readMany(session, request);
    case 'putmany':
      return putMany(session, request);
    case 'begin':
      await tree.begin(request.path, request.size);
      break;
    case 'write':
      await tree.write(request.path, request.offset, request.size, request.data, request.digest);
      session.bytesReceived += request.data.length;
      // Written: the message's buffer serves the next one (not after a failure, which may
      // leave nothing running on it, but is rare enough to leave to the collector).
      releaseReceiveBuffer(request.data);
      break;
    case 'commit':
      await tree.commit(request.path, request.size, { mtime: request.mtime, mode: request.mode });
      break;
    case 'meta':
      await tree.setMeta(request.path, { mtime: request.mtime, mode: request.mode });
      break;
    case 'mkdir':
      await tree.mkdir(request.path);
      break;
    case 'symlink':
      await tree.symlink(request.path, request.target, request.mtime);
      break;
    case 'delete':
      if (request.partial) await tree.removePartial(request.path);
      else await tree.remove(request.path, request.recursive);
      break;
    case 'open':
    case 'join':
      throw new ParecoError(ErrorCode.PROTOCOL, `${request.t} on a lane that already belongs to a session`);
    case 'close':
      throw new ParecoError(ErrorCode.PROTOCOL, 'close is handled by the lane');
  }
  return { t: 'ok', id };
}

/** Whole small files of the source, end to end in one payload. */
async function readMany(session: Session, request: ReadManyRequest): Promise<Response | Required<Handled>> {
  const results = await session.tree.readMany(request.files);
  const files: DataManyResponse['files'] = [];
  const parts: Buffer[] = [];
  for (const result of results) {
    if (result instanceof ParecoError) {
      files.push({ code: result.code, message: result.message });
      continue;
    }
    files.push({ size: result.data.length, mtime: result.mtime, digest: result.digest });
    parts.push(result.data);
  }
  const data = batchPayload(parts);
  session.bytesSent += data.length;
  const response: Response = { t: 'datamany', id: request.id, files, data };
  // The read buffer goes back to its pool once the payload is handed to the socket.
  const releases = results.flatMap((result) => (result instanceof ParecoError || result.release === undefined ? [] : [result.release]));
  return releases.length === 0 ? response : { response, release: () => releases.forEach((release) => release()) };
}

/** New whole small files, one result each; the payload holds their bytes in order. */
async function putMany(session: Session, request: PutManyRequest): Promise<Response> {
  let offset = 0;
  const files = request.files.map((file) => {
    const data = request.data.subarray(offset, offset + file.size);
    offset += file.size;
    return { path: file.path, data, digest: file.digest, meta: { mtime: file.mtime, mode: file.mode } };
  });
  const results = await session.tree.putMany(files);
  releaseReceiveBuffer(request.data); // every file settled: nothing reads the payload any more
  files.forEach((file, i) => {
    if (results[i] === undefined) session.bytesReceived += file.data.length;
  });
  return { t: 'results', id: request.id, results: results.map((error) => (error === undefined ? null : { code: error.code, message: error.message })) };
}
