/**
 * Images uploaded on the desk, as articles carry them: Markdown names one by its address,
 * `/media/<id>/<width>x<height>.<jpg|png>` (the original's size after rotation), and every page,
 * feed and email shows it at the widths stored for it. The sizes travel in the address so that
 * rendering needs no lookup.
 */

/** The widths an image is stored at (none wider than the original), for phones, columns and screens. */
export const IMAGE_WIDTHS = [480, 960, 1600] as const;
const LARGEST_WIDTH = 1600;
/** The width an email or a page without srcset shows: the column's, sharp on most screens. */
const DEFAULT_WIDTH = 960;
/** The widest an image is in an email: the 600 px column less its padding. */
export const EMAIL_IMAGE_WIDTH = 552;
/** How wide the article column is, for the browser to pick a width. */
const SIZES = '(max-width: 46rem) 100vw, 46rem';

const MEDIA_ADDRESS =
  /^(?<base>(?:https?:\/\/[^/\s"'<>]+)?\/media\/(?<id>[0-9a-f]{16}))\/(?<width>[1-9]\d{0,4})x(?<height>[1-9]\d{0,4})\.(?<ext>jpg|png)$/;

export interface MediaImage {
  /** Where its files are: `/media/<id>`, with the site's origin when the address had one. */
  readonly base: string;
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly ext: 'jpg' | 'png';
}

/** The image an address names, or undefined when it is not one of ours. */
export function mediaImage(address: string): MediaImage | undefined {
  const groups = MEDIA_ADDRESS.exec(address)?.groups;
  if (!groups) return undefined;
  return {
    base: groups.base ?? '',
    id: groups.id ?? '',
    width: Number(groups.width),
    height: Number(groups.height),
    ext: groups.ext === 'png' ? 'png' : 'jpg',
  };
}

/** The address of an uploaded image, as Markdown carries it. */
export function mediaAddress(origin: string, image: Omit<MediaImage, 'base'>): string {
  return `${origin}/media/${image.id}/${image.width}x${image.height}.${image.ext}`;
}

/** The address an image was read from, whole again. */
export function addressOf(image: MediaImage): string {
  return `${image.base}/${image.width}x${image.height}.${image.ext}`;
}

/** The smallest stored file of an image: an icon, a logo. */
export function smallestFile(image: MediaImage): string {
  return `${image.base}/${storedWidths(image.width)[0] ?? image.width}.${image.ext}`;
}

/** The widths stored for an original of this width: the standard ones below it, and its own up to the largest. */
export function storedWidths(originalWidth: number): number[] {
  const largest = Math.min(originalWidth, LARGEST_WIDTH);
  return [...IMAGE_WIDTHS.filter((width) => width < largest), largest];
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * An uploaded image as a page shows it: WebP where the browser takes it, the original format
 * elsewhere, each at the width the screen needs, with its proportions known before it loads.
 */
export function mediaImageHtml(image: MediaImage, alt: string, title?: string): string {
  const widths = storedWidths(image.width);
  const shown = widths.filter((width) => width <= DEFAULT_WIDTH).at(-1) ?? widths[0] ?? image.width;
  const height = Math.round((image.height * shown) / image.width);
  const set = (ext: string) => widths.map((width) => `${image.base}/${width}.${ext} ${width}w`).join(', ');
  const titled = title ? ` title="${escapeAttribute(title)}"` : '';
  return (
    `<picture><source type="image/webp" srcset="${set('webp')}" sizes="${SIZES}">` +
    `<img src="${image.base}/${shown}.${image.ext}" srcset="${set(image.ext)}" sizes="${SIZES}" ` +
    `width="${shown}" height="${height}" alt="${escapeAttribute(alt)}"${titled} loading="lazy" decoding="async"></picture>`
  );
}

/**
 * Images as an email shows them: no wider than its column whatever the client makes of styles
 * (Outlook reads only the width attribute), the height following.
 */
export function emailImages(html: string): string {
  return html.replace(/<img\b[^>]*>/g, (tag) => {
    const width = Number(/\swidth="(\d+)"/.exec(tag)?.[1] ?? 0);
    const height = Number(/\sheight="(\d+)"/.exec(tag)?.[1] ?? 0);
    if (width <= EMAIL_IMAGE_WIDTH) return tag;
    const scaled = height > 0 ? Math.round((height * EMAIL_IMAGE_WIDTH) / width) : 0;
    return tag
      .replace(/\swidth="\d+"/, ` width="${EMAIL_IMAGE_WIDTH}"`)
      .replace(/\sheight="\d+"/, scaled > 0 ? ` height="${scaled}"` : '');
  });
}
