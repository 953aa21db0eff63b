// A learning-curve plot as a standalone SVG, as the paper draws it: F1 against the number
// of annotated target notes, one line per annotator with ± std error bars, the source-only
// model as a dashed horizontal line. No plotting library: a few dozen elements.

export interface CurvePoint {
  x: number;
  y: number;
  /** Half-height of the error bar (std across seeds); 0 or absent for none. */
  err?: number;
}

export interface CurveSeries {
  name: string;
  points: CurvePoint[];
  /** Drawn dashed (e.g. a variant of another line). */
  dashed?: boolean;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: CurveSeries[];
  baseline?: { name: string; y: number };
  width?: number;
  height?: number;
}

const PALETTE = ["#1f77b4", "#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (v: number) => (Math.round(v * 100) / 100).toString();

/** Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten. */
export function ticks(low: number, high: number, wanted = 5): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / wanted;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let k = Math.ceil(low / step - 1e-9); k * step <= high + 1e-9; k++) out.push(Number((k * step).toPrecision(12)));
  return out;
}

export function learningCurveSvg(options: PlotOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 460;
  const legendWidth = 210;
  const margin = { left: 60, right: legendWidth + 20, top: 40, bottom: 50 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;

  const xs = options.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = options.series.flatMap((s) => s.points.flatMap((p) => [p.y - (p.err ?? 0), p.y + (p.err ?? 0)]));
  if (options.baseline) ys.push(options.baseline.y);
  const xMax = Math.max(1, ...xs);
  const yLow = Math.max(0, Math.floor((Math.min(1, ...ys) - 0.02) * 20) / 20);
  const yHigh = Math.min(1, Math.ceil((Math.max(0, ...ys) + 0.02) * 20) / 20);
  const yMin = yHigh > yLow ? yLow : 0;
  const yMax = yHigh > yLow ? yHigh : 1;
  const px = (x: number) => margin.left + (x / xMax) * plotW;
  const py = (y: number) => margin.top + (1 - (y - yMin) / (yMax - yMin)) * plotH;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(options.title)}</text>`);

  // Grid and axes
  for (const t of ticks(yMin, yMax)) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${py(t)}" y2="${py(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  const xTicks = [...new Set([0, ...xs])].sort((a, b) => a - b);
  for (const t of xTicks) {
    parts.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 5}" stroke="black"/>`);
    parts.push(`<text x="${px(t)}" y="${margin.top + plotH + 18}" text-anchor="middle">${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="black"/>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escape(options.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}</text>`);

  const legend: string[] = [];
  const legendX = width - legendWidth;
  let legendY = margin.top + 8;
  if (options.baseline) {
    const y = py(options.baseline.y);
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y}" y2="${y}" stroke="black" stroke-dasharray="6 4"/>`);
    legend.push(`<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY}" y2="${legendY}" stroke="black" stroke-dasharray="6 4"/>`);
    legend.push(`<text x="${legendX + 30}" y="${legendY + 4}">${escape(options.baseline.name)} (${fmt(options.baseline.y)})</text>`);
    legendY += 18;
  }
  options.series.forEach((series, i) => {
    const color = PALETTE[i % PALETTE.length];
    const dash = series.dashed ? ` stroke-dasharray="4 3"` : "";
    const points = [...series.points].sort((a, b) => a.x - b.x);
    if (points.length > 1) {
      const path = points.map((p, k) => `${k === 0 ? "M" : "L"}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ");
      parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    }
    for (const p of points) {
      if (p.err) {
        const [top, bottom] = [py(Math.min(yMax, p.y + p.err)), py(Math.max(yMin, p.y - p.err))];
        parts.push(`<line x1="${px(p.x)}" x2="${px(p.x)}" y1="${top}" y2="${bottom}" stroke="${color}"/>`);
        parts.push(`<line x1="${px(p.x) - 4}" x2="${px(p.x) + 4}" y1="${top}" y2="${top}" stroke="${color}"/>`);
        parts.push(`<line x1="${px(p.x) - 4}" x2="${px(p.x) + 4}" y1="${bottom}" y2="${bottom}" stroke="${color}"/>`);
      }
      parts.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3.5" fill="${color}"><title>${escape(series.name)}: N=${p.x}, F1=${p.y.toFixed(4)}</title></circle>`);
    }
    legend.push(`<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"${dash}/>`);
    legend.push(`<circle cx="${legendX + 12}" cy="${legendY}" r="3.5" fill="${color}"/>`);
    legend.push(`<text x="${legendX + 30}" y="${legendY + 4}">${escape(series.name)}</text>`);
    legendY += 18;
  });
  parts.push(...legend);
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
