// The forms the interpreter performed where compiled code could have run (the core counts them
// when asked: assembly/jit/interpreted-forms.ts), most frequent first, for --stats, --stats-json
// and anyone choosing the next form to compile.
import {
  INTERPRETED_FORMS, INTERPRETED_FORM_OPERAND_SIZE, INTERPRETED_FORM_REPEAT, INTERPRETED_FORM_UNSEEN,
} from "../../assembly/jit-abi.js";
import { ONE_BYTE_NAMES, TWO_BYTE_NAMES } from "../../assembly/opcode-names.js";
import type { CoreExports } from "../core/core-exports.js";

export interface InterpretedForm {
  /** Its bytes up to the opcode, in hex: "66 89", "F3 A5", "0F A3"; "?" for instructions whose bytes were not seen. */
  form: string;
  /** The opcode map's mnemonic and operands ("mov Ev,Gv"; for a group, every ModR/M.reg's). */
  name: string;
  count: number;
}

const hex = (byte: number) => byte.toString(16).toUpperCase().padStart(2, "0");

function describeForm(index: number): { form: string; name: string } {
  if (index === INTERPRETED_FORM_UNSEEN) return { form: "?", name: "bytes no longer in the fetch window" };
  const opcode = index & 0xff, twoByte = (index & 0x100) !== 0;
  const prefixes = [
    ...(index & INTERPRETED_FORM_REPEAT ? ["F2/F3"] : []), ...(index & INTERPRETED_FORM_OPERAND_SIZE ? ["66"] : []), ...(twoByte ? ["0F"] : []),
  ];
  return { form: [...prefixes, hex(opcode)].join(" "), name: (twoByte ? TWO_BYTE_NAMES : ONE_BYTE_NAMES)[opcode] };
}

/** The core's counts, most frequent first (forms never interpreted left out). */
export function readInterpretedForms(core: CoreExports): InterpretedForm[] {
  if (core.interpretedFormCounts() === 0) return []; // never asked to count
  const counts = new Uint32Array(core.memory.buffer, core.interpretedFormCounts(), INTERPRETED_FORMS);
  const forms: InterpretedForm[] = [];
  counts.forEach((count, index) => { if (count > 0) forms.push({ ...describeForm(index), count }); });
  return forms.sort((a, b) => b.count - a.count);
}
