#include "form_catalog.h"

#include <fmt/format.h>

#include <string_view>

namespace vessel::difftest {
namespace {

enum class Need : uint8_t { kAny, kPopcnt, kMovbe, kLzcnt, kBmi1, kBmi2, kAdx, kLahf, kCx16 };

constexpr uint8_t B = 1, W = 2, D = 4, Q = 8, ALL = B | W | D | Q, WDQ = W | D | Q, DQ = D | Q;

// Shapes, one word per form: r = register (A, B, C in turn), m = memory,
// i = immediate of the operand size (at most 32 bits), b = imm8, q = imm64,
// c = CL, 1 = the constant 1, a = an address (LEA).
struct Spec {
  ZydisMnemonic mnemonic;
  const char* shapes;
  uint8_t sizes;
  uint8_t src_size = 0;  // size of the second operand when it differs (MOVZX/MOVSX/MOVSXD)
  bool lockable = false;
  Need need = Need::kAny;
  uint8_t mem_bytes = 0;  // memory operand size when it is not the operand size (CMPXCHG8B/16B)
};

constexpr const char* kAlu = "rr rm mr ri mi rb mb";
constexpr const char* kShift = "r1 rc rb m1 mc mb";

const Spec kSpecs[] = {
    {ZYDIS_MNEMONIC_ADD, kAlu, ALL, 0, true},
    {ZYDIS_MNEMONIC_ADC, kAlu, ALL, 0, true},
    {ZYDIS_MNEMONIC_SUB, kAlu, ALL, 0, true},
    {ZYDIS_MNEMONIC_SBB, kAlu, ALL, 0, true},
    {ZYDIS_MNEMONIC_AND, kAlu, ALL, 0, true},
    {ZYDIS_MNEMONIC_OR, kAlu, ALL, 0, true},
    {ZYDIS_MNEMONIC_XOR, kAlu, ALL, 0, true},
    {ZYDIS_MNEMONIC_CMP, kAlu, ALL},
    {ZYDIS_MNEMONIC_TEST, "rr mr ri mi", ALL},
    {ZYDIS_MNEMONIC_MOV, "rr rm mr ri mi rq", ALL},
    {ZYDIS_MNEMONIC_INC, "r m", ALL, 0, true},
    {ZYDIS_MNEMONIC_DEC, "r m", ALL, 0, true},
    {ZYDIS_MNEMONIC_NEG, "r m", ALL, 0, true},
    {ZYDIS_MNEMONIC_NOT, "r m", ALL, 0, true},
    {ZYDIS_MNEMONIC_MUL, "r m", ALL},
    {ZYDIS_MNEMONIC_IMUL, "r m", ALL},
    {ZYDIS_MNEMONIC_IMUL, "rr rm rri rmi rrb rmb", WDQ},
    {ZYDIS_MNEMONIC_DIV, "r m", ALL},
    {ZYDIS_MNEMONIC_IDIV, "r m", ALL},
    {ZYDIS_MNEMONIC_ROL, kShift, ALL},
    {ZYDIS_MNEMONIC_ROR, kShift, ALL},
    {ZYDIS_MNEMONIC_RCL, kShift, ALL},
    {ZYDIS_MNEMONIC_RCR, kShift, ALL},
    {ZYDIS_MNEMONIC_SHL, kShift, ALL},
    {ZYDIS_MNEMONIC_SHR, kShift, ALL},
    {ZYDIS_MNEMONIC_SAR, kShift, ALL},
    {ZYDIS_MNEMONIC_SHLD, "rrc rrb mrc mrb", WDQ},
    {ZYDIS_MNEMONIC_SHRD, "rrc rrb mrc mrb", WDQ},
    {ZYDIS_MNEMONIC_BT, "rr rb mr mb", WDQ},
    {ZYDIS_MNEMONIC_BTS, "rr rb mr mb", WDQ, 0, true},
    {ZYDIS_MNEMONIC_BTR, "rr rb mr mb", WDQ, 0, true},
    {ZYDIS_MNEMONIC_BTC, "rr rb mr mb", WDQ, 0, true},
    {ZYDIS_MNEMONIC_BSF, "rr rm", WDQ},
    {ZYDIS_MNEMONIC_BSR, "rr rm", WDQ},
    {ZYDIS_MNEMONIC_LZCNT, "rr rm", WDQ, 0, false, Need::kLzcnt},
    {ZYDIS_MNEMONIC_TZCNT, "rr rm", WDQ, 0, false, Need::kBmi1},
    {ZYDIS_MNEMONIC_POPCNT, "rr rm", WDQ, 0, false, Need::kPopcnt},
    {ZYDIS_MNEMONIC_BSWAP, "r", DQ},
    {ZYDIS_MNEMONIC_MOVBE, "rm mr", WDQ, 0, false, Need::kMovbe},
    {ZYDIS_MNEMONIC_CMPXCHG, "rr mr", ALL, 0, true},
    {ZYDIS_MNEMONIC_XADD, "rr mr", ALL, 0, true},
    {ZYDIS_MNEMONIC_CMPXCHG8B, "m", Q, 0, true, Need::kAny, 8},
    {ZYDIS_MNEMONIC_CMPXCHG16B, "m", Q, 0, true, Need::kCx16, 16},
    {ZYDIS_MNEMONIC_PUSH, "r m i", W | Q},
    {ZYDIS_MNEMONIC_POP, "r m", W | Q},
    {ZYDIS_MNEMONIC_XCHG, "rr mr", ALL},
    {ZYDIS_MNEMONIC_MOVZX, "rr rm", WDQ, 8},
    {ZYDIS_MNEMONIC_MOVZX, "rr rm", DQ, 16},
    {ZYDIS_MNEMONIC_MOVSX, "rr rm", WDQ, 8},
    {ZYDIS_MNEMONIC_MOVSX, "rr rm", DQ, 16},
    {ZYDIS_MNEMONIC_MOVSXD, "rr rm", Q, 32},
    {ZYDIS_MNEMONIC_LEA, "ra", WDQ},
    {ZYDIS_MNEMONIC_ADCX, "rr rm", DQ, 0, false, Need::kAdx},
    {ZYDIS_MNEMONIC_ADOX, "rr rm", DQ, 0, false, Need::kAdx},
    {ZYDIS_MNEMONIC_ANDN, "rrr rrm", DQ, 0, false, Need::kBmi1},
    {ZYDIS_MNEMONIC_BEXTR, "rrr rmr", DQ, 0, false, Need::kBmi1},
    {ZYDIS_MNEMONIC_BLSI, "rr rm", DQ, 0, false, Need::kBmi1},
    {ZYDIS_MNEMONIC_BLSMSK, "rr rm", DQ, 0, false, Need::kBmi1},
    {ZYDIS_MNEMONIC_BLSR, "rr rm", DQ, 0, false, Need::kBmi1},
    {ZYDIS_MNEMONIC_BZHI, "rrr rmr", DQ, 0, false, Need::kBmi2},
    {ZYDIS_MNEMONIC_MULX, "rrr rrm", DQ, 0, false, Need::kBmi2},
    {ZYDIS_MNEMONIC_PDEP, "rrr rrm", DQ, 0, false, Need::kBmi2},
    {ZYDIS_MNEMONIC_PEXT, "rrr rrm", DQ, 0, false, Need::kBmi2},
    {ZYDIS_MNEMONIC_RORX, "rrb rmb", DQ, 0, false, Need::kBmi2},
    {ZYDIS_MNEMONIC_SARX, "rrr rmr", DQ, 0, false, Need::kBmi2},
    {ZYDIS_MNEMONIC_SHLX, "rrr rmr", DQ, 0, false, Need::kBmi2},
    {ZYDIS_MNEMONIC_SHRX, "rrr rmr", DQ, 0, false, Need::kBmi2},
};

constexpr ZydisMnemonic kCmov[] = {
    ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB,  ZYDIS_MNEMONIC_CMOVNB,
    ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE,
    ZYDIS_MNEMONIC_CMOVS, ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP,  ZYDIS_MNEMONIC_CMOVNP,
    ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE,
};
constexpr ZydisMnemonic kSetcc[] = {
    ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB,  ZYDIS_MNEMONIC_SETNB,
    ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
    ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP,  ZYDIS_MNEMONIC_SETNP,
    ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE,
};

bool host_has(const HostFeatures& h, Need n) {
  switch (n) {
    case Need::kAny:
      return true;
    case Need::kPopcnt:
      return h.popcnt;
    case Need::kMovbe:
      return h.movbe;
    case Need::kLzcnt:
      return h.lzcnt;
    case Need::kBmi1:
      return h.bmi1;
    case Need::kBmi2:
      return h.bmi2;
    case Need::kAdx:
      return h.adx;
    case Need::kLahf:
      return h.lahf;
    case Need::kCx16:
      return h.cx16;
  }
  return false;
}

// Register assignments: A, B, C, the memory base and displacement.
struct Variant {
  int a, b, c;
  bool high8;  // 8-bit registers are AH..BH (A = AH, B = DH)
  int mem_base;
  int64_t mem_disp;
};
constexpr Variant kVariants[] = {
    {kRax, kRcx, kRdx, false, kRbx, 0},      // legacy registers
    {kR9, kR10, kR11, false, kR13, 0x10},    // REX registers, REX base with disp8
    {kRax, kRdx, kRcx, true, kRbx, 0},       // AH/DH (8-bit forms only)
    {kRdx, kRdx, kRcx, false, kRbx, -0x21},  // the same register twice
};

int imm_bits_for(char c, int size) {
  if (c == 'b') return 8;
  if (c == 'q') return 64;
  return size > 32 ? 32 : size;
}

bool is_shift(ZydisMnemonic m) {
  switch (m) {
    case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR:
    case ZYDIS_MNEMONIC_RCL:
    case ZYDIS_MNEMONIC_RCR:
    case ZYDIS_MNEMONIC_SHL:
    case ZYDIS_MNEMONIC_SHR:
    case ZYDIS_MNEMONIC_SAR:
    case ZYDIS_MNEMONIC_SHLD:
    case ZYDIS_MNEMONIC_SHRD:
      return true;
    default:
      return false;
  }
}

class Builder {
 public:
  explicit Builder(Catalogue& cat) : cat_(cat) {}

  void add_spec(const Spec& s, std::string_view shape, int size, int variant_index, bool lock) {
    const Variant& v = kVariants[variant_index];
    Form f;
    f.mnemonic = s.mnemonic;
    f.size = size;
    f.rule = sdm_flag_rule(s.mnemonic);
    ZydisEncoderRequest& req = f.request;
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.mnemonic = s.mnemonic;
    if (lock) req.prefixes = ZYDIS_ATTRIB_HAS_LOCK;
    // Only consulted where the operands leave the size open (PUSH imm).
    req.operand_size_hint = size == 8    ? ZYDIS_OPERAND_SIZE_HINT_8
                            : size == 16 ? ZYDIS_OPERAND_SIZE_HINT_16
                            : size == 32 ? ZYDIS_OPERAND_SIZE_HINT_32
                                         : ZYDIS_OPERAND_SIZE_HINT_64;
    const int regs[3] = {v.a, v.b, v.c};
    int next_reg = 0;
    int second_gpr = -1;  // the register in operand position 1, if any
    std::string desc;
    bool uses_high8 = false;
    for (size_t i = 0; i < shape.size(); ++i) {
      char c = shape[i];
      int op_size = (i == 1 && s.src_size != 0) ? s.src_size : size;
      ZydisEncoderOperand& op = req.operands[req.operand_count++];
      if (!desc.empty()) desc += ',';
      switch (c) {
        case 'r': {
          int gpr = regs[next_reg++];
          bool high = v.high8 && op_size == 8;
          uses_high8 |= high;
          op.type = ZYDIS_OPERAND_TYPE_REGISTER;
          op.reg.value = gpr_register(gpr, op_size, high);
          if (i == 0) f.dest_gpr = gpr;
          if (i == 1) second_gpr = gpr;
          desc += fmt::format("r{}", op_size);
          break;
        }
        case 'm':
          op.type = ZYDIS_OPERAND_TYPE_MEMORY;
          op.mem.base = gpr_register(v.mem_base, 64, false);
          op.mem.displacement = v.mem_disp;
          op.mem.size = static_cast<ZyanU16>(s.mem_bytes != 0 ? s.mem_bytes : op_size / 8);
          f.mem_gpr = v.mem_base;
          f.mem_disp = v.mem_disp;
          f.pointer_gprs |= static_cast<uint16_t>(1u << v.mem_base);
          desc += fmt::format("m{}", op.mem.size * 8);
          break;
        case 'a':
          op.type = ZYDIS_OPERAND_TYPE_MEMORY;
          op.mem.base = gpr_register(regs[next_reg++], 64, false);
          op.mem.index = gpr_register(regs[next_reg++], 64, false);
          op.mem.scale = 4;
          op.mem.displacement = 0x12345;
          op.mem.size = 8;  // the encoder wants the address size for LEA
          desc += "addr";
          break;
        case 'i':
        case 'b':
        case 'q':
          op.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
          f.imm_index = static_cast<int>(i);
          f.imm_bits = imm_bits_for(c, size);
          desc += fmt::format("imm{}", f.imm_bits);
          break;
        case 'c':
          op.type = ZYDIS_OPERAND_TYPE_REGISTER;
          op.reg.value = ZYDIS_REGISTER_CL;
          desc += "cl";
          break;
        case '1':
          op.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
          op.imm.u = 1;
          desc += "1";
          break;
      }
    }
    if (v.high8 && !uses_high8) return;  // the AH/DH variant only where it differs
    if (is_shift(s.mnemonic)) {
      f.hint = Hint::kCount;
      if ((s.mnemonic == ZYDIS_MNEMONIC_SHLD || s.mnemonic == ZYDIS_MNEMONIC_SHRD) && size == 16) {
        f.count_max = 16;  // a larger count leaves the result undefined
      }
    } else if (s.mnemonic == ZYDIS_MNEMONIC_DIV || s.mnemonic == ZYDIS_MNEMONIC_IDIV) {
      f.hint = Hint::kDivide;
    } else if (s.mnemonic == ZYDIS_MNEMONIC_CMPXCHG8B || s.mnemonic == ZYDIS_MNEMONIC_CMPXCHG16B) {
      f.hint = Hint::kCompareExchangeWide;
      f.mem_dest_compare = true;
    } else if (s.mnemonic == ZYDIS_MNEMONIC_CMPXCHG) {
      f.hint = Hint::kCompareExchange;
      f.hint_gpr = f.dest_gpr;
      f.mem_dest_compare = shape[0] == 'm';
    } else if (shape == "mr" &&
               (s.mnemonic == ZYDIS_MNEMONIC_BT || s.mnemonic == ZYDIS_MNEMONIC_BTS ||
                s.mnemonic == ZYDIS_MNEMONIC_BTR || s.mnemonic == ZYDIS_MNEMONIC_BTC)) {
      f.hint = Hint::kBitOffset;
      f.hint_gpr = second_gpr;
    }
    if (shape[0] != 'r') f.dest_gpr = -1;
    f.name = fmt::format("{}{} {} v{}", lock ? "lock " : "", ZydisMnemonicGetString(s.mnemonic),
                         desc, variant_index);
    if (f.imm_index >= 0 && !encode_form(f, -1).ok()) {
      f.imm_unsigned = true;  // the encoder takes this imm8 (shifts, BT, RORX) as unsigned
    }
    auto bytes = encode_form(f, -1);
    if (!bytes) {
      // AH..DH cannot be encoded with a REX prefix: those combinations do not exist.
      if (!v.high8) cat_.errors.push_back(bytes.error().message);
      return;
    }
    cat_.forms.push_back(std::move(f));
  }

  // Fixed bytes; `pointers` must aim into the data area. `mnemonic` picks the
  // SDM flag rule (the raw forms all define what they touch unless given one).
  void add_raw(std::string name, std::vector<uint8_t> bytes, Hint hint, uint16_t pointers = 0,
               bool addr32 = false, ZydisMnemonic mnemonic = ZYDIS_MNEMONIC_INVALID) {
    Form f;
    f.name = std::move(name);
    f.raw = std::move(bytes);
    f.hint = hint;
    f.mnemonic = mnemonic;
    f.rule = sdm_flag_rule(mnemonic);
    f.pointer_gprs = pointers;
    f.addr32 = addr32;
    if (hint == Hint::kString) f.pointer_gprs |= (1u << kRsi) | (1u << kRdi);
    cat_.forms.push_back(std::move(f));
  }

 private:
  Catalogue& cat_;
};

bool has_shape(std::string_view shapes, std::string_view shape) {
  size_t pos = 0;
  while (pos < shapes.size()) {
    size_t end = shapes.find(' ', pos);
    if (end == std::string_view::npos) end = shapes.size();
    if (shapes.substr(pos, end - pos) == shape) return true;
    pos = end + 1;
  }
  return false;
}

void add_spec_forms(Builder& b, const Spec& s) {
  std::string_view shapes = s.shapes;
  size_t pos = 0;
  while (pos < shapes.size()) {
    size_t end = shapes.find(' ', pos);
    if (end == std::string_view::npos) end = shapes.size();
    std::string_view shape = shapes.substr(pos, end - pos);
    pos = end + 1;
    for (int size : {8, 16, 32, 64}) {
      if (!(s.sizes & (size / 8))) continue;
      if (shape.find('q') != std::string_view::npos && size != 64) continue;
      if (size == 8 && shape.find('b') != std::string_view::npos) {
        std::string with_i(shape);
        with_i[with_i.find('b')] = 'i';
        if (has_shape(shapes, with_i)) continue;  // imm8 is the full immediate here
      }
      int regs = 0;
      for (char c : shape) regs += c == 'r' ? 1 : 0;
      bool has_operands_to_vary = shape.find_first_of("rma") != std::string_view::npos;
      for (int v = 0; v < (has_operands_to_vary ? 4 : 1); ++v) {
        if (v == 2 && size != 8 && s.src_size != 8) continue;
        if (v == 3 && regs < 2) continue;
        b.add_spec(s, shape, size, v, false);
      }
      if (s.lockable && shape[0] == 'm') b.add_spec(s, shape, size, 0, true);
    }
  }
}

void add_raw_forms(Builder& b, const HostFeatures& host) {
  b.add_raw("cbw", {0x66, 0x98}, Hint::kNone);
  b.add_raw("cwde", {0x98}, Hint::kNone);
  b.add_raw("cdqe", {0x48, 0x98}, Hint::kNone);
  b.add_raw("cwd", {0x66, 0x99}, Hint::kNone);
  b.add_raw("cdq", {0x99}, Hint::kNone);
  b.add_raw("cqo", {0x48, 0x99}, Hint::kNone);
  if (host_has(host, Need::kLahf)) {
    b.add_raw("sahf", {0x9E}, Hint::kNone);
    b.add_raw("lahf", {0x9F}, Hint::kNone);
  }
  b.add_raw("clc", {0xF8}, Hint::kNone);
  b.add_raw("stc", {0xF9}, Hint::kNone);
  b.add_raw("cmc", {0xF5}, Hint::kNone);
  b.add_raw("xlat", {0xD7}, Hint::kNone, 1u << kRbx);
  b.add_raw("leave", {0xC9}, Hint::kFrame);
  b.add_raw("enter 0x20,0", {0xC8, 0x20, 0x00, 0x00}, Hint::kFrame);
  b.add_raw("enter 0x10,1", {0xC8, 0x10, 0x00, 0x01}, Hint::kFrame);
  b.add_raw("enter 0x8,3", {0xC8, 0x08, 0x00, 0x03}, Hint::kFrame);
  // 32-bit addressing (67h): the pointer registers carry garbage in bits 32-63.
  b.add_raw("add r32,m32 a32", {0x67, 0x03, 0x03}, Hint::kNone, 1u << kRbx, true,
            ZYDIS_MNEMONIC_ADD);
  b.add_raw("lea r32,addr a32", {0x67, 0x8D, 0x44, 0x4B, 0x10}, Hint::kNone);
  b.add_raw("lea r64,addr a32", {0x67, 0x48, 0x8D, 0x04, 0x0B}, Hint::kNone);
  b.add_raw("rep movsb a32", {0x67, 0xF3, 0xA4}, Hint::kString, 0, true);
  b.add_raw("rep stosd a32", {0x67, 0xF3, 0xAB}, Hint::kString, 0, true);
  b.add_raw("repe cmpsb a32", {0x67, 0xF3, 0xA6}, Hint::kString, 0, true);
  b.add_raw("lodsq a32", {0x67, 0x48, 0xAD}, Hint::kString, 0, true);
  struct StringOp {
    const char* name;
    uint8_t opcode;  // the byte form; +1 is the word/dword/qword form
    bool compares;   // CMPS/SCAS also take REPNE
  };
  constexpr StringOp kOps[] = {{"movs", 0xA4, false},
                               {"cmps", 0xA6, true},
                               {"stos", 0xAA, false},
                               {"lods", 0xAC, false},
                               {"scas", 0xAE, true}};
  constexpr const char* kSuffix[] = {"b", "w", "d", "q"};
  for (const StringOp& op : kOps) {
    for (int s = 0; s < 4; ++s) {
      std::vector<uint8_t> body;
      if (s == 1) body.push_back(0x66);
      if (s == 3) body.push_back(0x48);
      body.push_back(static_cast<uint8_t>(op.opcode + (s == 0 ? 0 : 1)));
      std::string name = fmt::format("{}{}", op.name, kSuffix[s]);
      b.add_raw(name, body, Hint::kString);
      std::vector<uint8_t> rep = body;
      rep.insert(rep.begin(), 0xF3);
      b.add_raw(fmt::format("{} {}", op.compares ? "repe" : "rep", name), rep, Hint::kString);
      if (op.compares) {
        rep[0] = 0xF2;
        b.add_raw("repne " + name, rep, Hint::kString);
      }
    }
  }
}

}  // namespace

ZydisRegister gpr_register(int gpr, int size, bool high8) {
  switch (size) {
    case 8:
      if (high8) return static_cast<ZydisRegister>(ZYDIS_REGISTER_AH + gpr);
      if (gpr < 4) return static_cast<ZydisRegister>(ZYDIS_REGISTER_AL + gpr);
      if (gpr < 8) return static_cast<ZydisRegister>(ZYDIS_REGISTER_SPL + gpr - 4);
      return static_cast<ZydisRegister>(ZYDIS_REGISTER_R8B + gpr - 8);
    case 16:
      return static_cast<ZydisRegister>(ZYDIS_REGISTER_AX + gpr);
    case 32:
      return static_cast<ZydisRegister>(ZYDIS_REGISTER_EAX + gpr);
    default:
      return static_cast<ZydisRegister>(ZYDIS_REGISTER_RAX + gpr);
  }
}

Catalogue build_catalogue(const HostFeatures& host) {
  Catalogue cat;
  Builder b(cat);
  for (const Spec& s : kSpecs) {
    if (host_has(host, s.need)) add_spec_forms(b, s);
  }
  for (ZydisMnemonic m : kCmov) add_spec_forms(b, Spec{m, "rr rm", WDQ});
  for (ZydisMnemonic m : kSetcc) add_spec_forms(b, Spec{m, "r m", B});
  add_raw_forms(b, host);
  add_simd_forms(host, cat);
  return cat;
}

}  // namespace vessel::difftest
