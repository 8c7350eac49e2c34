export { runBenchmarks, resolveOptions, CorrectnessError } from './harness';
export type { BenchReport, CaseResult, Figure, Ratio, Calibration } from './harness';
export { CONTENDERS, WORKLOADS, FULL_SIZES, QUICK_SIZES, TINY_SIZES } from './options';
export type { BenchOptions, ContenderName, WorkloadName, Sizes, ModulePaths } from './options';
export { throughputSvg, writeSvg } from './svg';
export { writeJson, reportJson } from './json';
export { textTable, markdownTable } from './table';
export { evaluateTargets } from './targets';
export { main, parseCli } from './cli';
