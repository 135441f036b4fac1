import { createHash } from 'node:crypto';
import type { Attachment } from 'fhir/r4';
import PDFDocument from 'pdfkit';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import type { OutputHeatmap } from '../explain/output-heatmaps.ts';
import { overlaySize } from '../explain/heatmap-png.ts';
import { heatmapTitle } from './heatmap-media.ts';
import { DECISION_SUPPORT_NOTICE } from './notice.ts';
import type { RiskStatement } from '../rules/risk-statement.ts';
import type { AnalysedImageSummary, FailedImageSummary, ReferralImageOutcome, TriageReport } from './triage-report.ts';

/**
 * DiagnosticReport.presentedForm as a PDF: many EHRs show a report only through its presentedForm.
 * Drawn from the same TriageReport as the card and the conclusion (priority and what it means, the
 * risk statement with icon arrays, per image the picture and its heatmap overlays, patterns, the
 * rule trace in words, model and rules versions, the decision-support notice), with pdfkit's Helvetica
 * (nothing embedded but the pictures). Pictures are EXIF-upright JPEG thumbnails, so three images
 * with their heatmaps stay near 100 KB (docs/integration.md; bench/pdf-bench.ts measures it).
 */

export const PDF_TITLE = 'BCC triage report (PDF): priority, risk, images, heatmaps, patterns, rule trace';

export interface PdfOptions {
  /** Longest side of each picture in pixels (drawn at THUMB_POINTS, so 320 px is about 190 dpi). */
  readonly thumbPixels?: number;
  readonly jpegQuality?: number;
}

const PAGE = { size: 'A4', margin: 42 } as const;
const THUMB_POINTS = 150;
const GAP = 10;
const GREY = '#555555';

/**
 * The standard PDF fonts encode WinAnsi only: what it lacks becomes a near equivalent or "?", so a
 * referral label in another script cannot produce unreadable glyphs.
 */
export function toWinAnsi(text: string): string {
  const mapped = text.replace(/≥/g, '>=').replace(/≤/g, '<=').replace(/→/g, '->').replace(/\s+/g, ' ');
  return Array.from(mapped, (c) => (/[\u0020-\u007e\u00a0-\u00ff\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026]/.test(c) ? c : '?')).join('');
}

interface Picture {
  readonly caption: string;
  readonly jpeg: Buffer;
  /** Width / height. */
  readonly aspect: number;
}

/** The image and each heatmap laid over it, as small JPEGs in the frame the overlays were drawn in. */
async function pictures(outcome: ReferralImageOutcome, opts: Required<PdfOptions>): Promise<Picture[]> {
  const r = outcome.result;
  if (!r.ok) {
    return [];
  }
  const frame = outcome.heatmaps[0] ?? { width: r.analysis.image.width, height: r.analysis.image.height };
  const { width, height } = overlaySize(frame.width, frame.height, opts.thumbPixels);
  // Decoded once (shrink-on-load), then every picture starts from the small raw thumbnail.
  const thumb = await sharp(r.image.bytes, { limitInputPixels: false }).autoOrient().resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const base = (): Sharp => sharp(thumb.data, { raw: { width: thumb.info.width, height: thumb.info.height, channels: thumb.info.channels } });
  const overlay = async (h: OutputHeatmap): Promise<Picture> => {
    // Raw RGBA between the steps: no PNG encoded only to be decoded again.
    const rgba = await sharp(h.png).ensureAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer();
    const input = { raw: { width, height, channels: 4 as const } };
    return { caption: heatmapTitle(h), aspect: width / height, jpeg: await base().composite([{ input: rgba, ...input, blend: 'over' }]).jpeg({ quality: opts.jpegQuality }).toBuffer() };
  };
  return [{ caption: 'Image', aspect: width / height, jpeg: await base().jpeg({ quality: opts.jpegQuality }).toBuffer() }, ...(await Promise.all(outcome.heatmaps.map(overlay)))];
}

class Writer {
  constructor(readonly doc: PDFKit.PDFDocument) {}

  private get width(): number {
    return this.doc.page.width - PAGE.margin * 2;
  }

  /** Starts a new page when `points` would not fit on this one. */
  room(points: number): void {
    if (this.doc.y + points > this.doc.page.height - PAGE.margin) {
      this.doc.addPage();
    }
  }

  heading(text: string, size = 13): void {
    this.room(size * 3);
    this.doc.moveDown(0.6).font('Helvetica-Bold').fontSize(size).fillColor('black').text(toWinAnsi(text), PAGE.margin, this.doc.y, { width: this.width });
    this.doc.moveDown(0.2);
  }

  paragraph(text: string, opts: { readonly bold?: boolean; readonly size?: number; readonly colour?: string } = {}): void {
    this.doc
      .font(opts.bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(opts.size ?? 10)
      .fillColor(opts.colour ?? 'black')
      .text(toWinAnsi(text), PAGE.margin, this.doc.y, { width: this.width });
    this.doc.moveDown(0.3);
  }

  field(label: string, value: string): void {
    this.doc.font('Helvetica-Bold').fontSize(10).fillColor('black').text(`${toWinAnsi(label)}: `, PAGE.margin, this.doc.y, { continued: true, width: this.width });
    this.doc.font('Helvetica').text(toWinAnsi(value));
    this.doc.moveDown(0.15);
  }

  pictures(items: readonly Picture[]): void {
    const perRow = Math.max(1, Math.floor((this.width + GAP) / (THUMB_POINTS + GAP)));
    for (let i = 0; i < items.length; i += perRow) {
      const row = items.slice(i, i + perRow);
      const height = Math.max(...row.map((p) => THUMB_POINTS / Math.max(1, p.aspect)));
      this.room(height + 16);
      const top = this.doc.y;
      row.forEach((p, k) => {
        const x = PAGE.margin + k * (THUMB_POINTS + GAP);
        this.doc.image(p.jpeg, x, top, { fit: [THUMB_POINTS, height], align: 'center' });
        this.doc.font('Helvetica').fontSize(8).fillColor(GREY).text(toWinAnsi(p.caption), x, top + height + 2, { width: THUMB_POINTS, align: 'center' });
      });
      this.doc.x = PAGE.margin;
      this.doc.y = top + height + 16;
    }
  }
}

const ICON = { cell: 7, gap: 1.5, filled: '#8a1c1c', empty: '#d9d9d9' } as const;

/**
 * Two icon arrays of 100, the score's band and the base rate side by side (Galesic, Garcia-Retamero
 * & Gigerenzer 2009): the same natural frequencies as the sentence above them. Only when the
 * statement is per 100; per 1,000 an array of 100 would show a fraction of an icon.
 */
function iconArrays(w: Writer, risk: RiskStatement): void {
  if (risk.denominator !== 100) {
    return;
  }
  const doc = w.doc;
  const side = 10 * ICON.cell + 9 * ICON.gap;
  w.room(side + 30);
  const top = doc.y;
  const arrays = [
    [risk.frequency, 'lesions scored like this (validation)'],
    [risk.baseRate, `all of ${risk.population}`],
  ] as const;
  arrays.forEach(([k, caption], j) => {
    const x0 = PAGE.margin + j * (side + 110);
    for (let i = 0; i < 100; i++) {
      doc.rect(x0 + (i % 10) * (ICON.cell + ICON.gap), top + Math.floor(i / 10) * (ICON.cell + ICON.gap), ICON.cell, ICON.cell).fill(i < k ? ICON.filled : ICON.empty);
    }
    doc.font('Helvetica').fontSize(8).fillColor(GREY).text(toWinAnsi(`${k} in 100 were BCC: ${caption}`), x0, top + side + 3, { width: side + 100 });
  });
  doc.x = PAGE.margin;
  doc.y = top + side + 28;
}

function patternNames(s: AnalysedImageSummary, status: 'present' | 'absent' | 'not-assessed'): string {
  const items = s.patterns.filter((p) => p.status === status).map((p) => (status === 'not-assessed' ? p.display : `${p.display} (${(p.probability ?? Number.NaN).toFixed(2)})`));
  return items.length ? items.join(', ') : 'none';
}

function writeAnalysedImage(w: Writer, s: AnalysedImageSummary, deciding: boolean, pics: readonly Picture[]): void {
  // Keep the heading with its pictures.
  w.room(THUMB_POINTS + 60);
  w.heading(`Image ${s.index + 1}: ${s.label}${deciding ? ' (sets the priority)' : ''}`, 11);
  w.pictures(pics);
  w.field('Triage', `${s.categoryDisplay} (rule ${s.rule})`);
  w.field('BCC probability', `${s.bccProbability.toFixed(3)} (calibrated; network verdict: ${s.networkVerdict === 'bcc' ? 'BCC' : 'not BCC'})`);
  if (s.risk) {
    w.field('In validation', s.risk.text);
  }
  w.field('Patterns present', patternNames(s, 'present'));
  w.field('Patterns absent', patternNames(s, 'absent'));
  w.field('Not assessed by this model', patternNames(s, 'not-assessed'));
  w.field('Dermoscopic criterion', `${s.criterion.verdict}. ${s.criterion.text}`);
  if (s.warnings.length) {
    w.field('Image checks', s.warnings.join(' '));
  }
  w.paragraph('Why (the rule trace):', { bold: true });
  s.trace.forEach((line, k) => {
    w.paragraph(`${k + 1}. ${line}`);
  });
}

function writeFailedImage(w: Writer, s: FailedImageSummary): void {
  w.heading(`Image ${s.index + 1}: ${s.label} (${s.kind === 'rejected' ? 'not assessed' : 'unreadable'})`, 11);
  w.paragraph(s.kind === 'rejected' ? `The model did not score this image: ${s.gateReasons.join(' ')}` : `The model could not read this image: ${s.reason}`);
}

/** The report as a PDF; `images` are the outcomes the report was built from, in referral order. */
export async function renderTriagePdf(report: TriageReport, images: readonly ReferralImageOutcome[], now: Date, opts: PdfOptions = {}): Promise<Buffer> {
  const o: Required<PdfOptions> = { thumbPixels: opts.thumbPixels ?? 320, jpegQuality: opts.jpegQuality ?? 72 };
  const pics = await Promise.all(images.map((i) => pictures(i, o)));
  const doc = new PDFDocument({
    size: PAGE.size,
    margin: PAGE.margin,
    info: { Title: 'BCC triage report (decision support)', Author: 'BCC-CDS', Subject: toWinAnsi(report.categoryDisplay), CreationDate: now, ModDate: now },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    doc.on('error', reject);
  });
  const w = new Writer(doc);
  w.paragraph('BCC triage report', { bold: true, size: 18 });
  w.paragraph(DECISION_SUPPORT_NOTICE, { bold: true, colour: '#8a1c1c' });
  w.heading(`Priority: ${report.categoryDisplay}`, 15);
  w.paragraph(report.categoryMeaning);
  if (report.risk) {
    w.paragraph(`What the score means: ${report.risk.text}`, { bold: true });
    iconArrays(w, report.risk);
  }
  w.paragraph(`BCC probability ${report.bccProbability.toFixed(2)} (calibrated) on image "${report.decidingImage.label}".`);
  for (const s of report.imageSummaries) {
    if (s.ok) {
      writeAnalysedImage(w, s, s.index === report.decidingImage.index, pics[s.index] ?? []);
    } else {
      writeFailedImage(w, s);
    }
  }
  const m = report.model;
  w.heading('Model and rules', 11);
  w.field('Model', `${m.name} ${m.version}${m.calibration ? ` (BCC probabilities calibrated: ${m.calibration})` : ''}`);
  w.field('Assesses', m.assessablePatterns.join(', ') || 'none');
  w.field('Does not assess', m.notAssessedPatterns.join(', ') || 'none');
  w.field('Image checks', m.gate);
  w.field('Rules', `${report.rules.id} ${report.rules.version}`);
  w.field('Report', `DiagnosticReport ${report.resources.report.id ?? ''}, ${report.resources.report.status}, issued ${now.toISOString()}`);
  w.paragraph(DECISION_SUPPORT_NOTICE, { size: 9, colour: GREY });
  doc.end();
  return done;
}

/** The PDF as a FHIR Attachment (base64 data, size and SHA-1 hash, as R4 Attachment defines them). */
export function pdfAttachment(pdf: Buffer, now: Date): Attachment {
  return {
    contentType: 'application/pdf',
    language: 'en',
    data: pdf.toString('base64'),
    size: pdf.length,
    hash: createHash('sha1').update(pdf).digest('base64'),
    title: PDF_TITLE,
    creation: now.toISOString(),
  };
}

/** The same report with the PDF first in DiagnosticReport.presentedForm (the viewer link, if any, after it). */
export function withPresentedFormPdf(report: TriageReport, pdf: Buffer, now: Date): TriageReport {
  const r = report.resources.report;
  return {
    ...report,
    resources: { ...report.resources, report: { ...r, presentedForm: [pdfAttachment(pdf, now), ...(r.presentedForm ?? [])] } },
  };
}
