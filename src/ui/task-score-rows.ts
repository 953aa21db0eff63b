// The rows of the Evaluate step's table for an attribute, relation or document-label model:
// one line per number, named as the paper reports them, so source and adapted sit side by side.
import type { TaskScores } from "../core/eval/task-scores.ts";

export interface ScoreRow {
  /** Stable key (also the row's test id). */
  key: string;
  label: string;
  value: number;
}

export function taskScoreRows(scores: TaskScores): ScoreRow[] {
  const rows: ScoreRow[] = [];
  const add = (key: string, label: string, value: number) => rows.push({ key, label, value });
  switch (scores.kind) {
    case "attributes":
      for (const [name, s] of Object.entries(scores.attributes)) {
        add(`${name}:accuracy`, `${name}: accuracy (${s.matched} entities)`, s.accuracy);
        add(`${name}:macro-f1`, `${name}: macro-F1`, s.macroF1);
        for (const [value, v] of Object.entries(s.perValue)) add(`${name}:${value}`, `${name} = ${value}: F1`, v.f1);
      }
      break;
    case "relations": {
      const r = scores.relations;
      add("precision", "precision (strict, micro)", r.micro.precision);
      add("recall", "recall (strict, micro)", r.micro.recall);
      add("f1", "F1 (strict, micro)", r.micro.f1);
      add("macro-f1", "F1 (macro over types)", r.macro.f1);
      for (const [type, s] of Object.entries(r.perType)) add(`type:${type}`, `${type}: F1`, s.f1);
      break;
    }
    case "document":
      for (const [name, s] of Object.entries(scores.labels)) {
        add(`${name}:accuracy`, `${name}: accuracy (${s.notes} notes)`, s.accuracy);
        add(`${name}:macro-f1`, `${name}: macro-F1`, s.macroF1);
        for (const [value, v] of Object.entries(s.perValue)) add(`${name}:${value}`, `${name} = ${value}: F1`, v.f1);
      }
      break;
  }
  return rows;
}
