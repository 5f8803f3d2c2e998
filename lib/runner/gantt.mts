// The job summary's chart: phases as a Mermaid gantt, which GitHub renders in Markdown
// ($GITHUB_STEP_SUMMARY). Pure: bars in, Markdown out.
//
// Times are milliseconds from the start of the run, written as Unix milliseconds
// (`dateFormat x`), so the axis reads minutes and seconds from 00:00. Each bar's label
// carries its duration too: the axis is drawn in the reader's time zone, which shifts
// the minutes where it is not a whole number of hours from UTC.

export interface GanttBar {
  label: string
  startMs: number
  durationMs: number
  failed?: boolean
}

export interface GanttSection {
  name: string
  bars: GanttBar[]
}

/** `6m 30s`, `45s`: a duration without the `:` of mm:ss, which would end a label. */
export function minutesSeconds(ms: number): string {
  const s = Math.round(ms / 1000)
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`
}

/**
 * Mermaid reads `#` and `;` as the start of an entity or a new statement, a line break
 * as the end of a line, and in a bar's label or a section's name `:` as the end of it:
 * none may reach the chart.
 */
function clean(text: string, also = ''): string {
  const special = new RegExp(`[#;\\r\\n${also}]+`, 'g')
  return text.replace(special, ' ').replace(/\s+/g, ' ').trim()
}

/** A ```mermaid gantt block: the sections in order, each with its bars; failed bars marked `crit`. */
export function mermaidGantt(title: string, sections: GanttSection[]): string {
  const lines = ['```mermaid', 'gantt', `  title ${clean(title)}`, '  dateFormat x', '  axisFormat %M:%S']
  let id = 0
  for (const section of sections) {
    if (section.bars.length === 0) continue
    lines.push(`  section ${clean(section.name, ':')}`)
    for (const bar of section.bars) {
      const start = Math.max(0, Math.round(bar.startMs))
      // A bar of no length is not drawn at all: give it one millisecond.
      const end = start + Math.max(1, Math.round(bar.durationMs))
      lines.push(`  ${clean(bar.label, ':')} (${minutesSeconds(bar.durationMs)}) :${bar.failed ? 'crit' : 'done'}, p${++id}, ${start}, ${end}`)
    }
  }
  lines.push('```')
  return lines.join('\n')
}
