import { ErrorCode, ParecoError, toParecoError, type Request, type Response } from '../../protocol/index.js';
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
      const { entries, done } = await session.listBatch(request.seq);
      return { t: 'entries', id, entries, done };
    }
    case 'stat':
      return { t: 'stat', id, entry: await tree.stat(request.path) };
    case 'hash': {
      const { size, partial, digests } = await tree.digests(request.path, request.from, request.count);
      return { t: 'hashes', id, size, partial, digests };
    }
    case 'hashmany': {
      const files = [];
      for (const file of request.files) {
        try {
          files.push(await tree.digests(file.path, file.from, file.count));
        } catch (error) {
          const failure = toParecoError(error, file.path);
          files.push({ code: failure.code, message: failure.message });
        }
      }
      return { t: 'hashmany', id, files };
    }
    case 'blocks':
      return { t: 'blocklist', id, digests: await tree.blockDigests(request.path, request.index) };
    case 'read': {
      const { data, digest, size, mtime, release } = await tree.read(request.path, request.offset, request.length);
      session.bytesSent += data.length;
      const response: Response = { t: 'data', id, data, digest, size, mtime };
      return release === undefined ? response : { response, release };
    }
    case 'put':
      await tree.put(request.path, request.data, request.digest, { mtime: request.mtime, mode: request.mode });
      session.bytesReceived += request.data.length;
      break;
    case 'begin':
      await tree.begin(request.path, request.size);
      break;
    case 'write':
      await tree.write(request.path, request.offset, request.data, request.digest);
      session.bytesReceived += request.data.length;
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
