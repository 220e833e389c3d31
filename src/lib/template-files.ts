import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type Handlebars from 'handlebars';

/**
 * How every template, page or email, is compiled. preventIndent: a partial on a line of its own
 * would otherwise have every line it writes indented like that line, the article's text with them,
 * which shifts its code blocks.
 */
export const TEMPLATE_OPTIONS = { strict: false, preventIndent: true } as const;

/**
 * A Handlebars file precompiled at boot, once: its JavaScript made and loaded now, not at its first
 * use (Handlebars.compile's way), so that no request pays for it and a syntax error stops the boot
 * with the file's name. The helpers registered by then are declared known, which lets the template
 * call them directly instead of looking each name up in the data first.
 */
export function compileTemplateFile(
  handlebars: typeof Handlebars,
  file: string,
): Handlebars.TemplateDelegate {
  const source = readFileSync(file, 'utf8');
  try {
    const knownHelpers = Object.fromEntries(Object.keys(handlebars.helpers).map((name) => [name, true]));
    // The JavaScript source `handlebars --precompile` writes to a file, loaded from memory instead.
    const spec = handlebars.precompile(source, { ...TEMPLATE_OPTIONS, knownHelpers }) as unknown;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const load = new Function(`return ${spec as string};`) as () => ReturnType<typeof handlebars.precompile>;
    return handlebars.template(load());
  } catch (error) {
    throw new Error(`Template ${path.relative(process.cwd(), file)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Every .hbs file of `dir` as a partial named after the file. */
export function registerPartialsFrom(handlebars: typeof Handlebars, dir: string): void {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.hbs'))) {
    handlebars.registerPartial(
      path.basename(file, '.hbs'),
      compileTemplateFile(handlebars, path.join(dir, file)),
    );
  }
}

/** A static file's text and a URL that changes with its content, so it can be cached for ever. */
export interface VersionedAsset {
  readonly body: string;
  readonly url: string;
}

export function versionedAsset(file: string, urlPath: string): VersionedAsset {
  const body = readFileSync(file, 'utf8');
  const version = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { body, url: `${urlPath}?v=${version}` };
}
