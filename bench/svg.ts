/**
 * A small SVG line chart with logarithmic axes, drawn here rather than by a plotting package:
 * ticks at powers of ten, grid lines, axis labels, a legend under the plot, one line per series.
 */

export interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  points: Array<{ x: number; y: number }>;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  formatX: (value: number) => string;
  formatY: (value: number) => string;
  width?: number;
  height?: number;
}

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function decades(values: number[]): [number, number] {
  const logs = values.filter((v) => v > 0).map(Math.log10);
  return [Math.floor(Math.min(...logs)), Math.ceil(Math.max(...logs))];
}

export function logLogChart(series: Series[], o: ChartOptions): string {
  const legendRowH = 20;
  const legendH = Math.ceil(series.length / 2) * legendRowH + 16;
  const width = o.width ?? 760;
  const height = (o.height ?? 420) + legendH;
  const m = { left: 86, right: 24, top: 48, bottom: 64 + legendH };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = series.flatMap((s) => s.points);
  let [x0, x1] = decades(all.map((p) => p.x));
  let [y0, y1] = decades(all.map((p) => p.y));
  if (x0 === x1) x1 += 1;
  if (y0 === y1) y1 += 1;
  [x0, y0] = [Math.min(x0, x1 - 1), Math.min(y0, y1 - 1)];
  const sx = (x: number) => m.left + ((Math.log10(x) - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => m.top + plotH - ((Math.log10(y) - y0) / (y1 - y0)) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(o.title)}</text>`,
  ];
  for (let d = x0; d <= x1; d++) {
    const x = sx(10 ** d).toFixed(1);
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + plotH}" stroke="#e5e7eb"/>`);
    out.push(
      `<text x="${x}" y="${m.top + plotH + 18}" text-anchor="middle" fill="#374151">${escapeXml(o.formatX(10 ** d))}</text>`,
    );
  }
  for (let d = y0; d <= y1; d++) {
    const y = sy(10 ** d).toFixed(1);
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + plotW}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(
      `<text x="${m.left - 8}" y="${Number(y) + 4}" text-anchor="end" fill="#374151">${escapeXml(o.formatY(10 ** d))}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#9ca3af"/>`,
    `<text x="${m.left + plotW / 2}" y="${m.top + plotH + 40}" text-anchor="middle" fill="#111827">${escapeXml(o.xLabel)}</text>`,
    `<text transform="translate(20 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#111827">${escapeXml(o.yLabel)}</text>`,
  );
  for (const s of series) {
    if (s.points.length === 0) continue;
    const path = s.points
      .map((p, i) => `${i ? "L" : "M"}${sx(p.x).toFixed(1)} ${sy(p.y).toFixed(1)}`)
      .join(" ");
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : "";
    out.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2.2"${dash}/>`);
    for (const p of s.points) {
      out.push(
        `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3.5" fill="${s.dashed ? "#ffffff" : s.color}" stroke="${s.color}" stroke-width="1.5"><title>${escapeXml(`${s.label}: ${o.formatX(p.x)} -> ${o.formatY(p.y)}`)}</title></circle>`,
      );
    }
  }
  // The legend sits under the plot, in two columns, so it never hides a line.
  const columnW = (width - 2 * m.right) / 2;
  series.forEach((s, i) => {
    const x = m.right + 16 + (i % 2) * columnW;
    const y = m.top + plotH + 62 + Math.floor(i / 2) * legendRowH;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : "";
    out.push(
      `<line x1="${x}" y1="${y - 4}" x2="${x + 26}" y2="${y - 4}" stroke="${s.color}" stroke-width="2.2"${dash}/>`,
      `<text x="${x + 32}" y="${y}" fill="#111827">${escapeXml(s.label)}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
