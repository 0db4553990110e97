/** Pod arguments of rkt's commands: `UUID...` and/or `--uuid-file=FILE` (the file holds one UUID). */
import * as fs from 'node:fs';
import { RktError } from '../errors';

/** rkt exits 1, not 254, when status or stop cannot read --uuid-file. */
function readUuidFile(file: string, exitCode: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new RktError('EIO', `unable to read UUID from file: ${(e as Error).message}`, { exitCode });
  }
}

/** For commands taking several pods (stop, rm): the arguments plus the file's UUID. */
export function podArguments(uuids: ReadonlyArray<string>, uuidFile: string | undefined, exitCode = 254): string[] {
  const args = [...uuids];
  if (uuidFile !== undefined) args.push(readUuidFile(uuidFile, exitCode));
  if (args.length === 0) throw new RktError('EUSAGE', 'at least one UUID must be given');
  return args;
}

/** For commands taking one pod (status, cat-manifest): exactly one of UUID or --uuid-file. */
export function singlePodArgument(uuid: string | undefined, uuidFile: string | undefined, exitCode = 254): string {
  if ((uuid === undefined) === (uuidFile === undefined)) throw new RktError('EUSAGE', 'provide exactly one of UUID or --uuid-file');
  return uuidFile !== undefined ? readUuidFile(uuidFile, exitCode) : (uuid as string);
}
