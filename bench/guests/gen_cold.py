#!/usr/bin/env python3
"""Generates the code of the cold CPU benchmark guest (bench/guests/cold.S).

Writes an assembler file (GNU as, Intel syntax) holding one long straight run
of distinct 64-bit instructions between the labels cold_template and
cold_template_end, and cold_template_insns, a quadword with the exact number of
instructions that run from cold_template to cold_template_end. The mix is
random but seeded, so a build is reproducible: ALU operations of every size on
registers, immediates and memory, moves, loads and stores (RBX points at an
8 KiB data area), LEA, shifts and rotates, multiplies, bit tests, CMOV/SETcc,
XCHG/BSWAP, push/pop, forward branches whose outcome is fixed (a register
compared with itself), and calls to code further down that returns.

Branch outcomes never depend on data, so the count is known statically: code
jumped over is counted as not executed. The code is position-independent (only
relative branches, memory through RBX) and leaves RSP as it found it, so the
guest can copy it and run the copies back to back. RBX and RSP are never
written.
"""

import argparse
import random

REG64 = ["rax", "rcx", "rdx", "rsi", "rdi", "rbp"] + [f"r{i}" for i in range(8, 16)]
REG32 = ["eax", "ecx", "edx", "esi", "edi", "ebp"] + [f"r{i}d" for i in range(8, 16)]
REG16 = ["ax", "cx", "dx", "si", "di", "bp"] + [f"r{i}w" for i in range(8, 16)]
REG8 = ["al", "cl", "dl", "sil", "dil", "bpl"] + [f"r{i}b" for i in range(8, 16)]
REGS = {64: REG64, 32: REG32, 16: REG16, 8: REG8}
PTR = {64: "qword", 32: "dword", 16: "word", 8: "byte"}

ALU = ["add", "sub", "and", "or", "xor", "adc", "sbb", "cmp"]
SHIFTS = ["shl", "shr", "sar", "rol", "ror"]
CONDS = ["e", "ne", "b", "ae", "be", "a", "l", "ge", "le", "g", "s", "ns", "o", "no", "p", "np"]
# After `cmp r, r` (equal): ZF=1, CF=0, SF=0, OF=0, PF=1.
TAKEN_AFTER_EQUAL = {"e", "ae", "be", "ge", "le", "ns", "no", "p"}

DATA_BYTES = 8192  # size of the data area at RBX (cold.S)


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.lines = []
        self.labels = 0

    def label(self):
        self.labels += 1
        return f".Lc{self.labels}"

    def emit(self, text):
        self.lines.append("  " + text)

    def reg(self, size):
        return self.rng.choice(REGS[size])

    def size(self):
        return self.rng.choice([64, 64, 64, 32, 32, 16, 8])

    def imm(self, size):
        if self.rng.random() < 0.5:
            return self.rng.randint(-128, 127)
        bits = min(size, 32)
        return self.rng.randint(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)

    def mem(self, size):
        disp = self.rng.randrange(0, DATA_BYTES - 8)
        return f"{PTR[size]} ptr [rbx + {disp}]"

    # Each simple form emits one instruction and returns 1.
    def simple(self):
        rng = self.rng
        kind = rng.randrange(16)
        s = self.size()
        if kind == 0:
            op = rng.choice(ALU + ["test"])
            self.emit(f"{op} {self.reg(s)}, {self.reg(s)}")
        elif kind == 1:
            self.emit(f"{rng.choice(ALU)} {self.reg(s)}, {self.imm(s)}")
        elif kind == 2:
            self.emit(f"{rng.choice(ALU)} {self.reg(s)}, {self.mem(s)}")
        elif kind == 3:
            self.emit(f"{rng.choice(ALU)} {self.mem(s)}, {self.reg(s)}")
        elif kind == 4:
            if s == 64 and rng.random() < 0.3:
                self.emit(f"movabs {self.reg(64)}, {rng.getrandbits(64)}")
            else:
                self.emit(f"mov {self.reg(s)}, {self.imm(s)}")
        elif kind == 5:
            self.emit(f"mov {self.reg(s)}, {self.mem(s)}")
        elif kind == 6:
            self.emit(f"mov {self.mem(s)}, {self.reg(s)}")
        elif kind == 7:
            src = rng.choice([8, 16])
            op = rng.choice(["movzx", "movsx"])
            self.emit(f"{op} {self.reg(rng.choice([32, 64]))}, {self.mem(src)}")
        elif kind == 8:
            s = rng.choice([32, 64])
            scale = rng.choice([1, 2, 4, 8])
            disp = rng.randint(-2000, 2000)
            self.emit(f"lea {self.reg(s)}, [{self.reg(64)} + {self.reg(64)} * {scale} + {disp}]")
        elif kind == 9:
            op = rng.choice(SHIFTS)
            count = rng.choice(["1", "cl", str(rng.randint(1, s - 1))])
            self.emit(f"{op} {self.reg(s)}, {count}")
        elif kind == 10:
            s = rng.choice([16, 32, 64])
            if rng.random() < 0.5:
                self.emit(f"imul {self.reg(s)}, {self.reg(s)}")
            else:
                self.emit(f"imul {self.reg(s)}, {self.reg(s)}, {self.imm(s)}")
        elif kind == 11:
            self.emit(f"{rng.choice(['inc', 'dec', 'neg', 'not'])} {self.reg(s)}")
        elif kind == 12:
            if rng.random() < 0.5:
                self.emit(f"bswap {self.reg(rng.choice([32, 64]))}")
            else:
                self.emit(f"xchg {self.reg(s)}, {self.reg(s)}")
        elif kind == 13:
            if rng.random() < 0.5:
                s = rng.choice([16, 32, 64])
                self.emit(f"cmov{rng.choice(CONDS)} {self.reg(s)}, {self.reg(s)}")
            else:
                self.emit(f"set{rng.choice(CONDS)} {self.reg(8)}")
        elif kind == 14:
            s = rng.choice([16, 32, 64])
            op = rng.choice(["bt", "bts", "btr", "btc"])
            self.emit(f"{op} {self.reg(s)}, {rng.randrange(s)}")
        else:
            # A store through a computed, bounded index: 3 instructions.
            a32 = rng.randrange(len(REG32))
            self.emit(f"mov {REG32[a32]}, {self.reg(32)}")
            self.emit(f"and {REG32[a32]}, {DATA_BYTES // 2 - 8}")
            self.emit(f"mov {self.mem_indexed(REG64[a32], s)}, {self.reg(s)}")
            return 3
        return 1

    def mem_indexed(self, index, size):
        return f"{PTR[size]} ptr [rbx + {index} + {self.rng.randrange(0, DATA_BYTES // 2)}]"

    def block(self, depth):
        """Emits one item; returns how many of its instructions run."""
        rng = self.rng
        if depth >= 2 or rng.random() < 0.88:
            return self.simple()
        kind = rng.randrange(5)
        if kind == 0:  # push/pop pair around a few items
            self.emit(f"push {self.reg(64)}")
            n = 2 + self.items(rng.randint(0, 3), depth + 1)
            self.emit(f"pop {self.reg(64)}")
            return n
        if kind == 1:  # branch not taken: what follows runs
            r = self.reg(rng.choice([8, 32, 64]))
            cond = rng.choice(sorted(set(CONDS) - TAKEN_AFTER_EQUAL))
            end = self.label()
            self.emit(f"cmp {r}, {r}")
            self.emit(f"j{cond} {end}")
            n = 2 + self.items(rng.randint(1, 4), depth + 1)
            self.lines.append(f"{end}:")
            return n
        if kind == 2:  # branch taken: what it jumps over never runs
            r = self.reg(rng.choice([8, 32, 64]))
            cond = rng.choice(sorted(TAKEN_AFTER_EQUAL))
            end = self.label()
            self.emit(f"cmp {r}, {r}")
            self.emit(f"j{cond} {end}")
            self.items(rng.randint(1, 3), depth + 1)
            self.lines.append(f"{end}:")
            return 2
        if kind == 3:  # unconditional jump over code
            end = self.label()
            self.emit(f"jmp {end}")
            self.items(rng.randint(1, 2), depth + 1)
            self.lines.append(f"{end}:")
            return 1
        # call to a body placed after a jump; the body returns
        body, end = self.label(), self.label()
        self.emit(f"call {body}")
        self.emit(f"jmp {end}")
        self.lines.append(f"{body}:")
        n = 3 + self.items(rng.randint(1, 4), depth + 1)
        self.emit("ret")
        self.lines.append(f"{end}:")
        return n

    def items(self, count, depth):
        return sum(self.block(depth) for _ in range(count))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--insns", type=int, default=16384,
                        help="instructions to run, at least (default 16384)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    gen = Generator(args.seed)
    executed = 0
    while executed < args.insns:
        executed += gen.block(0)
    with open(args.output, "w") as out:
        out.write("/* Generated by bench/guests/gen_cold.py "
                  f"--insns {args.insns} --seed {args.seed}: do not edit. */\n")
        out.write('#include "guest.h"\n\n.code64\n.text\n.globl cold_template\ncold_template:\n')
        out.write("\n".join(gen.lines))
        out.write("\n.globl cold_template_end\ncold_template_end:\n\n")
        out.write(".section .rodata\n.balign 8\n.globl cold_template_insns\n")
        out.write(f"cold_template_insns: .quad {executed}\n")


if __name__ == "__main__":
    main()
