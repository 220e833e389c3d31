export interface DayCount {
  /** YYYY-MM-DD in the publication's time zone. */
  readonly day: string;
  readonly count: number;
}

export interface GrowthPoint {
  readonly day: string;
  readonly total: number;
}

/** Days from `first` to `last` inclusive, as YYYY-MM-DD. */
function daysBetween(first: string, last: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`); t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/** A running total per day, every day present, from the count before the window and each day's joins. */
export function runningTotals(
  before: number,
  joins: readonly DayCount[],
  first: string,
  last: string,
): GrowthPoint[] {
  const byDay = new Map(joins.map((j) => [j.day, j.count]));
  let total = before;
  return daysBetween(first, last).map((day) => {
    total += byDay.get(day) ?? 0;
    return { day, total };
  });
}

const WIDTH = 640;
const HEIGHT = 180;
const PAD = { top: 12, right: 12, bottom: 24, left: 48 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The growth line as inline SVG: drawn on the server, so the dashboard needs no chart library and
 * shows the same with scripts off. Labels are the first and last days, and the lowest and highest totals.
 */
export function growthChartSvg(
  points: readonly GrowthPoint[],
  label: string,
  formatDay: (day: string) => string,
): string {
  if (points.length === 0) return '';
  const totals = points.map((p) => p.total);
  const min = Math.min(...totals);
  const max = Math.max(...totals);
  const span = Math.max(1, max - min);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i: number): number =>
    PAD.left + (points.length === 1 ? plotW : (i / (points.length - 1)) * plotW);
  const y = (total: number): number => PAD.top + plotH - ((total - min) / span) * plotH;
  const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.total).toFixed(1)}`).join(' ');
  const area = `${PAD.left},${PAD.top + plotH} ${line} ${x(points.length - 1).toFixed(1)},${PAD.top + plotH}`;
  const first = points[0];
  const last = points.at(-1);
  return [
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(label)}">`,
    `<polygon class="chart__area" points="${area}"/>`,
    `<polyline class="chart__line" points="${line}"/>`,
    `<text class="chart__label" x="${PAD.left - 6}" y="${PAD.top + 4}" text-anchor="end">${max}</text>`,
    `<text class="chart__label" x="${PAD.left - 6}" y="${PAD.top + plotH}" text-anchor="end">${min}</text>`,
    first
      ? `<text class="chart__label" x="${PAD.left}" y="${HEIGHT - 6}">${escapeXml(formatDay(first.day))}</text>`
      : '',
    last
      ? `<text class="chart__label" x="${WIDTH - PAD.right}" y="${HEIGHT - 6}" text-anchor="end">${escapeXml(formatDay(last.day))}</text>`
      : '',
    '</svg>',
  ].join('');
}

/** One group of paired bars: a month's new and ended subscriptions, an hour's readers and departures. */
export interface PairedBars {
  readonly key: string;
  readonly first: number;
  readonly second: number;
}

/**
 * Two figures per group as paired bars (the first in the accent colour, the second beside it in
 * grey), inline SVG like the growth line. Each bar carries its figure as a title, so a reader (or a
 * screen reader) gets the number as well as the shape.
 */
export function pairedBarsSvg(
  groups: readonly PairedBars[],
  labels: { readonly chart: string; readonly first: string; readonly second: string },
  formatKey: (key: string) => string,
): string {
  if (groups.length === 0) return '';
  const max = Math.max(1, ...groups.flatMap((g) => [g.first, g.second]));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / groups.length;
  const barW = Math.max(2, slot * 0.35);
  const bar = (series: 'first' | 'second', value: number, x: number, key: string): string => {
    const h = (value / max) * plotH;
    const label = `${formatKey(key)} : ${value} ${labels[series]}`;
    return `<rect class="chart__bar chart__bar--${series}" x="${x.toFixed(1)}" y="${(PAD.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}"><title>${escapeXml(label)}</title></rect>`;
  };
  const bars = groups.flatMap((g, i) => {
    const x = PAD.left + i * slot + (slot - 2 * barW) / 2;
    return [bar('first', g.first, x, g.key), bar('second', g.second, x + barW, g.key)];
  });
  const first = groups[0];
  const last = groups.at(-1);
  return [
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(labels.chart)}">`,
    ...bars,
    `<text class="chart__label" x="${PAD.left - 6}" y="${PAD.top + 4}" text-anchor="end">${max}</text>`,
    `<text class="chart__label" x="${PAD.left - 6}" y="${PAD.top + plotH}" text-anchor="end">0</text>`,
    first
      ? `<text class="chart__label" x="${PAD.left}" y="${HEIGHT - 6}">${escapeXml(formatKey(first.key))}</text>`
      : '',
    last
      ? `<text class="chart__label" x="${WIDTH - PAD.right}" y="${HEIGHT - 6}" text-anchor="end">${escapeXml(formatKey(last.key))}</text>`
      : '',
    '</svg>',
  ].join('');
}
