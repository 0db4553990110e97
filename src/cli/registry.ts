/**
 * The command classes the CLI registers. Add a command by writing a class extending BaseCommand
 * (static `paths`, static `usage`, `execute()`), and appending it here. Keep command modules thin:
 * load heavy dependencies (store, sqlite3, openpgp, undici, the native addon) inside execute() with
 * `await import(...)`, never at the top of the file, so that `rkt version` starts fast.
 */
import type { CommandClass } from 'clipanion';
import { VersionCommand } from './version';
import { ConfigCommand } from './config';
import { FetchCommand } from './fetch';
import { ImageListCommand } from './image/list';
import { ImageRmCommand } from './image/rm';
import { ImageExportCommand } from './image/export';
import { ImageExtractCommand } from './image/extract';
import { ImageRenderCommand } from './image/render';
import { ImageCatManifestCommand } from './image/cat-manifest';
import { ImageVerifyCommand } from './image/verify';
import { ImageGcCommand } from './image/gc';
import { PrepareCommand } from './prepare';
import { RunCommand } from './run';
import { RunPreparedCommand } from './run-prepared';
import { StatusCommand } from './status';
import { ListCommand } from './list';
import { CatManifestCommand } from './cat-manifest';
import { GcCommand } from './gc';
import { RmCommand } from './rm';
import { StopCommand } from './stop';
import { EnterCommand } from './enter';
import { ExportCommand } from './export';

export const commands: CommandClass[] = [
  VersionCommand,
  ConfigCommand,
  FetchCommand,
  ImageListCommand,
  ImageRmCommand,
  ImageExportCommand,
  ImageExtractCommand,
  ImageRenderCommand,
  ImageCatManifestCommand,
  ImageVerifyCommand,
  ImageGcCommand,
  PrepareCommand,
  RunCommand,
  RunPreparedCommand,
  StatusCommand,
  ListCommand,
  CatManifestCommand,
  GcCommand,
  RmCommand,
  StopCommand,
  EnterCommand,
  ExportCommand,
];
