import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type Handlebars from 'handlebars';

/**
 * Compiles a Handlebars file now rather than on first use, so that a syntax error stops the boot
 * with the file's name instead of failing a request later.
 */
export function compileTemplateFile(
  handlebars: typeof Handlebars,
  file: string,
): Handlebars.TemplateDelegate {
  const source = readFileSync(file, 'utf8');
  try {
    const template = handlebars.compile(source, { strict: false, preventIndent: true });
    handlebars.precompile(source);
    return template;
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
