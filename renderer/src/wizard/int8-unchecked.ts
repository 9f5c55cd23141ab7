// An INT8 export with no fidelity verdict, in the app's words (the CLI prints its own line).
/** What the app says of an INT8 with no verdict: the switch by its name, not the request field. */
export function uncheckedText(reason: string): string {
  const why = /^turned off\b/.test(reason) ? 'the fidelity check was turned off (Output step, the “Check INT8 against its target” switch)' : reason.replace(/^skipped: /, '');
  return `The INT8 model was not checked against a target: ${why}. Its accuracy is unknown.`;
}
