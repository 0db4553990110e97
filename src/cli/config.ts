/** `rkt config [--pretty-print=true]` (rkt/config.go). */
import { BaseCommand } from './base';
import { GoBool } from './options';
import { RktError, describeError } from '../errors';
import { loadConfig } from '../config/read';
import { configDirList, type ConfigDirs } from '../config/dirs';
import { formatConfig } from '../config/output';

/** The JSON `rkt config` prints for these directories. rkt exits 1 when the configuration is bad. */
export function configOutput(dirs: ConfigDirs, pretty: boolean): string {
  let config;
  try {
    config = loadConfig(configDirList(dirs));
  } catch (e) {
    throw new RktError('ECONFIG', `cannot get configuration: ${describeError(e)}`, { cause: e, exitCode: 1 });
  }
  return formatConfig(config, pretty);
}

export class ConfigCommand extends BaseCommand {
  static paths = [['config']];
  static usage = BaseCommand.Usage({
    description: 'print configuration for each stage in JSON format',
    details: `
      The output is parsable JSON with "stage0" as key and rkt configuration entries as values, after
      merging the system (\`--system-config\`), local (\`--local-config\`) and user (\`--user-config\`)
      configuration directories. The generated entries resemble the original configuration format.
    `,
    examples: [
      ['Print the merged configuration', '$0 config'],
      ['Print it on one line', '$0 config --pretty-print=false'],
    ],
  });

  prettyPrint = GoBool('--pretty-print', true, { description: 'apply indent to format the output (default true)' });

  async execute(): Promise<number> {
    this.out(configOutput(this.globals().configDirs, this.prettyPrint));
    return 0;
  }
}
