#include "soft_executor.h"

#include <cstring>

#include "cpu/decode/decoder.h"

namespace vessel::difftest {
namespace {

// Guest-physical layout of the machine (one 4 KiB page each).
constexpr uint64_t kPml4 = 0x0000;
constexpr uint64_t kPdpt = 0x1000;
constexpr uint64_t kPd = 0x2000;
constexpr uint64_t kPtData = 0x3000;
constexpr uint64_t kPtCode = 0x4000;
constexpr uint64_t kDataPhys = 0x5000;  // two pages
constexpr uint64_t kCodePhys = 0x7000;
constexpr uint64_t kPtSystem = 0x8000;
constexpr uint64_t kSystemPhys = 0x9000;  // four pages: TSS, GDT, IDT, kernel stack
constexpr uint64_t kHandlerPhys = 0xD000;
constexpr uint64_t kRamSize = 0xE000;

// Supervisor-only system pages. The 64-bit TSS: its I/O map base lies past
// its limit, so IN/OUT at CPL 3 (IOPL 0) are #GP as on the host; RSP0 is the
// top of the kernel stack page. The IDT's gate n points at kHandlerBase + n,
// a supervisor page of HLTs (the interpreting executor stops when a soft
// interrupt arrives there, the translating one when it halts there); gates
// 3 and 4 (INT3, INTO) have DPL 3 as under Linux, the others DPL 0.
constexpr uint64_t kSystemAddr = 0x30000000;
constexpr uint64_t kTssAddr = kSystemAddr;
constexpr uint32_t kTssLimit = 0x67;
constexpr uint64_t kGdtAddr = kSystemAddr + 0x1000;
constexpr uint64_t kIdtAddr = kSystemAddr + 0x2000;
constexpr uint64_t kKernelStackTop = kSystemAddr + 0x4000;
constexpr uint64_t kHandlerBase = 0x30100000;
constexpr uint16_t kKernelCode = 0x08;
constexpr uint64_t kKernelCodeDesc = 0x00AF9A000000FFFFull;  // 64-bit code, DPL 0

// Page-table entry bits: present, writable, user, accessed, dirty, no-execute.
constexpr uint64_t kP = 1, kRw = 2, kUs = 4, kA = 0x20, kD = 0x40, kNx = 1ull << 63;

// Selectors and descriptors of the flat user segments (GDT entries 5 and 6
// with RPL 3; no GDT is needed because nothing reloads a segment).
constexpr uint16_t kUserCode = 0x33;
constexpr uint64_t kUserCodeDesc = 0x00AFFB000000FFFFull;  // 64-bit code, DPL 3
constexpr uint16_t kUserData = 0x2B;
constexpr uint64_t kUserDataDesc = 0x00CFF3000000FFFFull;  // read/write data, DPL 3

// Steps after which a run counts as stuck (a REP instruction ends a batch
// every few thousand iterations; the catalogue's counts are small).
constexpr unsigned kMaxSteps = 1024;

// Guest-physical address of a linear address in the system pages.
uint64_t sys_phys(uint64_t linear) {
  return kSystemPhys + (linear - kSystemAddr);
}

}  // namespace

class SoftCpuExecutor::Bus : public cpu::CpuBus {
 public:
  uint8_t* ram(uint64_t gpa) override { return gpa < kRamSize ? mem.data() + gpa : nullptr; }
  uint64_t mmio_read(uint64_t, unsigned) override { return 0; }
  void mmio_write(uint64_t, unsigned, uint64_t) override {}
  uint32_t pio_read(uint16_t, unsigned) override { return 0xFFFFFFFF; }
  void pio_write(uint16_t, unsigned, uint32_t) override {}

  void put64(uint64_t gpa, uint64_t v) { std::memcpy(mem.data() + gpa, &v, 8); }

  std::array<uint8_t, kRamSize> mem{};
};

SoftCpuExecutor::SoftCpuExecutor(Mode mode) : bus_(std::make_unique<Bus>()), mode_(mode) {
  cpu_ = std::make_unique<cpu::Cpu>(*bus_);
  if (mode_ == Mode::kTranslated) cpu_->set_jit(cpu::JitOptions{true, 0});
}

SoftCpuExecutor::~SoftCpuExecutor() = default;

void SoftCpuExecutor::build_machine() {
  bus_->mem.fill(0);
  bus_->put64(kPml4, kPdpt | kP | kRw | kUs | kA);
  bus_->put64(kPdpt, kPd | kP | kRw | kUs | kA);
  bus_->put64(kPd + ((kDataAddr >> 21) & 511) * 8, kPtData | kP | kRw | kUs | kA);
  bus_->put64(kPd + ((kCodeAddr >> 21) & 511) * 8, kPtCode | kP | kRw | kUs | kA);
  static_assert((kDataAddr & 0x1FFFFF) == 0 && (kCodeAddr & 0x1FFFFF) == 0);
  static_assert(kDataSize == 0x2000);
  for (uint64_t p = 0; p < kDataSize / 0x1000; ++p)
    bus_->put64(kPtData + p * 8, (kDataPhys + p * 0x1000) | kP | kRw | kUs | kA | kD | kNx);
  // The host maps the code page writable too.
  bus_->put64(kPtCode, kCodePhys | kP | kRw | kUs | kA | kD);
  static_assert((kSystemAddr & 0x1FFFFF) == 0);
  bus_->put64(kPd + ((kSystemAddr >> 21) & 511) * 8, kPtSystem | kP | kRw | kA);
  for (uint64_t p = 0; p < 4; ++p)
    bus_->put64(kPtSystem + p * 8, (kSystemPhys + p * 0x1000) | kP | kRw | kA | kD | kNx);
  static_assert(kHandlerBase - kSystemAddr < 0x200000);
  bus_->put64(kPtSystem + ((kHandlerBase - kSystemAddr) >> 12) * 8, kHandlerPhys | kP | kA);
  std::memset(bus_->mem.data() + kHandlerPhys, 0xF4, 0x1000);  // HLT
  bus_->put64(sys_phys(kTssAddr) + 4, kKernelStackTop);        // RSP0
  uint16_t io_map_base = kTssLimit + 1;
  std::memcpy(bus_->mem.data() + sys_phys(kTssAddr) + 0x66, &io_map_base, 2);
  bus_->put64(sys_phys(kGdtAddr) + kKernelCode, kKernelCodeDesc);
  bus_->put64(sys_phys(kGdtAddr) + (kUserData & ~7), kUserDataDesc);
  bus_->put64(sys_phys(kGdtAddr) + (kUserCode & ~7), kUserCodeDesc);
  for (uint64_t v = 0; v < 256; ++v) {
    uint64_t handler = kHandlerBase + v;
    uint64_t dpl = (v == 3 || v == 4) ? 3 : 0;
    uint64_t lo = (handler & 0xFFFF) | (uint64_t{kKernelCode} << 16) | ((0x8E | (dpl << 5)) << 40) |
                  (((handler >> 16) & 0xFFFF) << 48);
    bus_->put64(sys_phys(kIdtAddr) + v * 16, lo);
    bus_->put64(sys_phys(kIdtAddr) + v * 16 + 8, handler >> 32);
  }

  cpu::Cpu& c = *cpu_;
  c.reset();
  c.cr0 =
      cpu::cr0::kPe | cpu::cr0::kMp | cpu::cr0::kEt | cpu::cr0::kNe | cpu::cr0::kWp | cpu::cr0::kPg;
  c.cr4 = cpu::cr4::kPae | cpu::cr4::kOsfxsr | cpu::cr4::kOsxmmexcpt;
  c.cr3 = kPml4;
  c.efer = cpu::efer::kLme | cpu::efer::kLma | cpu::efer::kNxe | cpu::efer::kSce;
  c.xcr0 = 3;
  c.seg[cpu::kCs] = cpu::Cpu::unpack_descriptor(kUserCode, kUserCodeDesc);
  cpu::SegmentCache data = cpu::Cpu::unpack_descriptor(kUserData, kUserDataDesc);
  for (unsigned r : {cpu::kDs, cpu::kEs, cpu::kFs, cpu::kGs, cpu::kSs}) c.seg[r] = data;
  c.gdtr = {kGdtAddr, 0x3F};
  c.idtr = {kIdtAddr, 256 * 16 - 1};
  c.tr.type = 0xB;  // busy 64-bit TSS
  c.tr.s = false;
  c.tr.base = kTssAddr;
  c.tr.limit = kTssLimit;
  c.update_mode();
  c.flush_tlb();
}

Expected<ExecResult> SoftCpuExecutor::run(std::span<const uint8_t> code, const UserState& in) {
  if (in.rip != kInstrAddr) return make_error("soft executor: RIP {:#x} is not kInstrAddr", in.rip);
  uint64_t code_offset = kInstrAddr - kCodeAddr;
  if (code.size() > kMaxCodeBytes) return make_error("soft executor: {} code bytes", code.size());
  build_machine();
  std::memcpy(bus_->mem.data() + kCodePhys + code_offset, code.data(), code.size());
  std::memcpy(bus_->mem.data() + kDataPhys, in.data.data(), kDataSize);

  cpu::Cpu& c = *cpu_;
  c.gpr = in.gpr;
  c.rip = in.rip;
  c.set_rflags((in.rflags & kUserFlags) | 0x2);
  for (unsigned i = 0; i < 16; ++i) {
    c.fpu.xmm[i].q[0] = in.xmm[i].lo;
    c.fpu.xmm[i].q[1] = in.xmm[i].hi;
  }
  // As the native prologue leaves them: MM0-7 loaded, then EMMS.
  for (unsigned i = 0; i < 8; ++i) c.fpu.x87.regs[i] = cpu::Float80{in.mm[i], 0xFFFF};
  c.fpu.x87.fsw = 0;
  c.fpu.x87.ftw = 0xFFFF;
  c.fpu.mxcsr = in.mxcsr;

  ExecResult out;
  uint64_t end = in.rip + code.size();
  if (mode_ == Mode::kTranslated) {
    if (Status st = run_translated(end, out); !st.ok()) return st.error();
  }
  unsigned steps = 0;
  while (mode_ == Mode::kInterpreted && c.rip != end) {
    if (++steps > kMaxSteps) return make_error("soft executor: no progress after {} steps", steps);
    uint64_t off = c.rip - in.rip;
    if (c.rip < in.rip || off >= code.size())
      return make_error("soft executor: RIP {:#x} left the code", c.rip);
    cpu::Insn insn;
    // Decoded from guest memory: an instruction may have rewritten the code.
    const uint8_t* bytes = bus_->mem.data() + kCodePhys + code_offset + off;
    if (!cpu::decode_insn(bytes, static_cast<unsigned>(code.size() - off), cpu::DecodeMode::k64,
                          &insn)) {
      return make_error("soft executor: incomplete instruction at {:#x}", c.rip);
    }
    c.next_rip = c.rip + insn.len;
    cpu::Flow flow = c.execute_one(insn);
    if (flow == cpu::Flow::kFault) {
      out.vector = c.pending_vector();
      break;
    }
    c.rip = c.next_rip;
    if (c.rip >= kHandlerBase && c.rip < kHandlerBase + 256 && c.cpl() == 0) {
      // A soft interrupt (INT3, INTO, INT1) was delivered: report its vector
      // and the user state from the frame (RIP after the instruction).
      out.vector = static_cast<int>(c.rip - kHandlerBase);
      if (Status st = return_from_frame(c.gpr[cpu::kRsp]); !st.ok()) return st.error();
      break;
    }
  }

  out.state.gpr = c.gpr;
  out.state.rip = c.rip;
  out.state.rflags = (c.get_rflags() & kUserFlags) | 0x2;
  for (unsigned i = 0; i < 16; ++i) {
    out.state.xmm[i].lo = c.fpu.xmm[i].q[0];
    out.state.xmm[i].hi = c.fpu.xmm[i].q[1];
  }
  for (unsigned i = 0; i < 8; ++i) out.state.mm[i] = c.fpu.x87.regs[i].significand;
  out.state.mxcsr = c.fpu.mxcsr & 0xFFFF;
  std::memcpy(out.state.data.data(), bus_->mem.data() + kDataPhys, kDataSize);
  return out;
}

Status SoftCpuExecutor::run_translated(uint64_t end, ExecResult& out) {
  cpu::Cpu& c = *cpu_;
  static constexpr uint8_t kUd2[] = {0x0F, 0x0B};
  std::memcpy(bus_->mem.data() + kCodePhys + (end - kCodeAddr), kUd2, sizeof(kUd2));
  std::atomic<bool> stop{false};  // the catalogue has no branches: the run ends at a HLT
  cpu::CpuExit exit = c.run(stop);
  uint64_t at = c.rip - 1;  // the HLT's address
  if (exit != cpu::CpuExit::kHalted || c.cpl() != 0 || at < kHandlerBase ||
      at >= kHandlerBase + 256) {
    return make_error("soft executor: the translated run stopped at {:#x} (exit {})", c.rip,
                      static_cast<int>(exit));
  }
  auto vector = static_cast<int>(at - kHandlerBase);
  // The frame: [error code,] RIP, CS, RFLAGS, RSP, SS.
  bool error_code = vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 ||
                    vector == 29 || vector == 30;
  VESSEL_TRY(return_from_frame(c.gpr[cpu::kRsp] + (error_code ? 8 : 0)));
  // The UD2 after the code: the code ran to its end.
  out.vector = vector == 6 && c.rip == end ? kNoException : vector;
  return {};
}

Status SoftCpuExecutor::return_from_frame(uint64_t sp) {
  cpu::Cpu& c = *cpu_;
  uint64_t frame[4];  // RIP, CS, RFLAGS, RSP
  if (sp < kKernelStackTop - 0x1000 || sp + sizeof(frame) > kKernelStackTop)
    return make_error("soft executor: exception frame at {:#x}", sp);
  std::memcpy(frame, bus_->mem.data() + sys_phys(sp), sizeof(frame));
  c.rip = frame[0];
  c.set_rflags(frame[2]);
  c.gpr[cpu::kRsp] = frame[3];
  return {};
}

}  // namespace vessel::difftest
