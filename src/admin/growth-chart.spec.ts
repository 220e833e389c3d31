import { describe, expect, it } from 'vitest';
import { growthChartSvg, pairedBarsSvg, runningTotals } from './growth-chart.js';

describe('runningTotals', () => {
  it('fills every day, carrying the total over days without joins', () => {
    const points = runningTotals(
      5,
      [
        { day: '2026-03-02', count: 2 },
        { day: '2026-03-04', count: 1 },
      ],
      '2026-03-01',
      '2026-03-05',
    );
    expect(points).toEqual([
      { day: '2026-03-01', total: 5 },
      { day: '2026-03-02', total: 7 },
      { day: '2026-03-03', total: 7 },
      { day: '2026-03-04', total: 8 },
      { day: '2026-03-05', total: 8 },
    ]);
  });

  it('crosses a month end and a daylight-saving change without losing or doubling a day', () => {
    const points = runningTotals(0, [], '2026-03-28', '2026-04-02');
    expect(points.map((p) => p.day)).toEqual([
      '2026-03-28',
      '2026-03-29',
      '2026-03-30',
      '2026-03-31',
      '2026-04-01',
      '2026-04-02',
    ]);
  });
});

describe('growthChartSvg', () => {
  it('draws one point per day between the lowest and highest totals, with escaped labels', () => {
    const svg = growthChartSvg(
      [
        { day: '2026-03-01', total: 3 },
        { day: '2026-03-02', total: 9 },
      ],
      'Abonnés <actifs>',
      (day) => `le ${day}`,
    );
    expect(svg).toContain('aria-label="Abonnés &lt;actifs&gt;"');
    expect(svg).toMatch(/<polyline class="chart__line" points="48\.0,156\.0 628\.0,12\.0"\/>/);
    expect(svg).toContain('>9</text>');
    expect(svg).toContain('>3</text>');
    expect(svg).toContain('le 2026-03-02');
  });

  it('draws nothing without points', () => {
    expect(growthChartSvg([], 'x', (d) => d)).toBe('');
  });
});

describe('pairedBarsSvg', () => {
  it('draws two bars per group, scaled to the largest, each with its figure', () => {
    const svg = pairedBarsSvg(
      [
        { key: '2026-10', first: 4, second: 1 },
        { key: '2026-11', first: 2, second: 0 },
      ],
      { chart: 'Abonnements payants', first: 'nouveaux', second: 'terminés' },
      (month) => month.replace('2026-', 'm'),
    );
    expect(svg.match(/<rect /g)).toHaveLength(4);
    expect(svg).toContain('<title>m10 : 4 nouveaux</title>');
    expect(svg).toContain('<title>m11 : 0 terminés</title>');
    const heights = [...svg.matchAll(/height="([\d.]+)"><title>/g)].map((m) => Number(m[1]));
    expect(heights[0]).toBeCloseTo(144);
    expect(heights[1]).toBeCloseTo(36);
    expect(heights[3]).toBe(0);
    expect(pairedBarsSvg([], { chart: '', first: '', second: '' }, String)).toBe('');
  });
});
