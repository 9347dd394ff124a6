// Reads the shell blocks of README.md, so tests run the commands a reader copies instead of copies of them.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md');

/** A fenced `sh` block of README.md: the comment line just above its fence (if any), and its commands. */
export interface ReadmeBlock {
  /** The text of an `<!-- … -->` line right above the fence, or null. */
  readonly marker: string | null;
  /** The commands, `\` continuations joined, blank and `#` comment lines left out. */
  readonly commands: readonly string[];
}

/** Every ```sh block of README.md, in order. */
export function readmeShellBlocks(): ReadmeBlock[] {
  const lines = readFileSync(README, 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i] !== '```sh') continue;
    const above = /^<!--\s*(.*?)\s*-->$/.exec(lines[i - 1] ?? '');
    const commands: string[] = [];
    let pending = '';
    for (i += 1; i < lines.length && lines[i] !== '```'; i += 1) {
      const line = lines[i]!;
      if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
      if (line.endsWith('\\')) {
        pending += `${line.slice(0, -1)}`;
        continue;
      }
      commands.push(`${pending}${line}`.replace(/\s+#\s.*$/, '').trim());
      pending = '';
    }
    blocks.push({ marker: above?.[1] ?? null, commands });
  }
  return blocks;
}

/** Every inline code span of README.md (text between single backticks outside the fenced blocks). */
export function readmeInlineCode(): string[] {
  const prose = readFileSync(README, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
  return [...prose.matchAll(/`([^`\n]+)`/g)].map((match) => match[1]!);
}

/** The commands of the one block whose marker line includes `marker`; throws when there is not exactly one. */
export function readmeBlock(marker: string): readonly string[] {
  const found = readmeShellBlocks().filter((block) => block.marker?.includes(marker));
  if (found.length !== 1) throw new Error(`README.md has ${found.length} sh blocks marked "${marker}", not one`);
  return found[0]!.commands;
}
