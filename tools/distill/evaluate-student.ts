/**
 * The student against the teacher on held-out events: how often their decisions (through the pipeline's
 * rules) agree, FP32 and quantized, the confusion between them, and the quantized student's latency one
 * event per call on one thread, as the gateway runs it (tools/eval's runner, ORT optimizations included).
 */
import type { CompiledDecisionRules } from '../../daemon/decision-rules.js';
import { latency, type Latency } from '../eval/eval-report.js';
import { openModel } from '../eval/eval-run.js';
import { agreementOf, decideAll, type Student, type StudentData } from './student.js';

export interface StudentEvaluation {
  agreement: number;
  fp32Agreement: number;
  /** teacher decision → student decision → events (quantized student). */
  confusion: Record<string, Record<string, number>>;
  latency: Latency;
}

export async function evaluateStudent(
  student: Student,
  holdout: StudentData,
  rules: CompiledDecisionRules,
  outputs: number,
): Promise<StudentEvaluation> {
  const measure = async (bytes: Uint8Array, batch: number) => {
    const model = await openModel('student', bytes, 1);
    try {
      return await model.run(holdout.x.slice(), holdout.rows, batch);
    } finally {
      await model.close();
    }
  };
  const fp32Run = await measure(student.fp32, 256);
  const quantRun = await measure(student.quantized, 1);
  const teacherDecisions = decideAll(rules, holdout.targets, holdout.rows, outputs);
  const studentDecisions = decideAll(rules, quantRun.outputs, holdout.rows, outputs);
  const confusion: Record<string, Record<string, number>> = {};
  teacherDecisions.forEach((teacher, i) => {
    const row = (confusion[teacher ?? '(none)'] ??= {});
    const decided = studentDecisions[i] ?? '(none)';
    row[decided] = (row[decided] ?? 0) + 1;
  });
  return {
    agreement: agreementOf(teacherDecisions, studentDecisions),
    fp32Agreement: agreementOf(teacherDecisions, decideAll(rules, fp32Run.outputs, holdout.rows, outputs)),
    confusion,
    latency: latency(quantRun.callMs, holdout.rows, 1),
  };
}
