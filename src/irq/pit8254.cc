#include "irq/pit8254.h"

namespace vessel {
namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint64_t kRefreshToggleNs = 15'085;
constexpr uint16_t kPortControl = 0x43;

uint32_t from_bcd(uint32_t raw) {
  return (raw & 0xF) + ((raw >> 4) & 0xF) * 10 + ((raw >> 8) & 0xF) * 100 +
         ((raw >> 12) & 0xF) * 1000;
}

uint16_t to_bcd(uint32_t value) {
  return static_cast<uint16_t>((value % 10) | ((value / 10 % 10) << 4) | ((value / 100 % 10) << 8) |
                               ((value / 1000 % 10) << 12));
}

uint64_t ticks_to_ns(uint64_t ticks) {
  return static_cast<uint64_t>(
      (static_cast<unsigned __int128>(ticks) * kNsPerSecond + Pit8254::kInputHz - 1) /
      Pit8254::kInputHz);
}

class PitPorts final : public Device {
 public:
  PitPorts(std::shared_ptr<Pit8254> pit, uint16_t base, uint32_t count, std::string_view name)
      : pit_(std::move(pit)), base_(base), count_(count), name_(name) {}
  std::string_view name() const override { return name_; }
  void read(uint64_t offset, std::span<uint8_t> data) override {
    for (size_t i = 0; i < data.size(); i++) {
      uint64_t o = offset + i;
      data[i] = o < count_ ? pit_->read_port(static_cast<uint16_t>(base_ + o)) : 0xFF;
    }
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    for (size_t i = 0; i < data.size(); i++) {
      uint64_t o = offset + i;
      if (o < count_) pit_->write_port(static_cast<uint16_t>(base_ + o), data[i]);
    }
  }

 private:
  std::shared_ptr<Pit8254> pit_;
  uint16_t base_;
  uint32_t count_;
  std::string_view name_;
};

}  // namespace

Pit8254::Pit8254(IrqChip& irq, uint32_t gsi, TimeSource& time) : irq_(irq), gsi_(gsi), time_(time) {
  counters_[2].gate = false;  // port 0x61 bit 0 is clear at reset
}

Pit8254::~Pit8254() {
  std::lock_guard lock(mu_);
  timer_generation_++;
  if (timer_id_ != TimeSource::kNoTimer) time_.cancel(timer_id_);
}

uint64_t Pit8254::ticks_locked(const Counter& c, uint64_t now) const {
  if (!c.counting) return c.frozen_ticks;
  uint64_t elapsed = now > c.base_ns ? now - c.base_ns : 0;
  return c.frozen_ticks +
         static_cast<uint64_t>(static_cast<unsigned __int128>(elapsed) * kInputHz / kNsPerSecond);
}

uint16_t Pit8254::count_value_locked(const Counter& c, uint64_t now) const {
  if (!c.loaded) return 0;
  uint64_t modulus = c.bcd ? 10000 : 0x10000;
  uint64_t n = c.count, t = ticks_locked(c, now);
  uint64_t value;
  switch (c.mode) {
    case 1:
    case 5:
      if (!c.triggered) {
        value = n;
        break;
      }
      [[fallthrough]];
    case 0:
    case 4:
      value = (n + modulus - t % modulus) % modulus;
      break;
    case 2:
      value = c.counting ? n - t % n : n;
      break;
    default: {  // 3: counts down by two, twice per period
      if (!c.counting) {
        value = n;
        break;
      }
      uint64_t phase = t % n, high = (n + 1) / 2;
      value = (n - 2 * (phase < high ? phase : phase - high)) & ~uint64_t{1};
      if (value < 2) value = 2;
      break;
    }
  }
  value %= modulus;
  return c.bcd ? to_bcd(static_cast<uint32_t>(value)) : static_cast<uint16_t>(value);
}

bool Pit8254::out_locked(const Counter& c, uint64_t now) const {
  if (!c.loaded) return c.mode != 0;
  uint64_t n = c.count, t = ticks_locked(c, now);
  switch (c.mode) {
    case 0:
      return t >= n;
    case 1:
      return !c.triggered || t >= n;
    case 2:
      return !c.counting || t % n != n - 1;
    case 3:
      return !c.counting || t % n < (n + 1) / 2;
    case 4:
      return t != n;
    default:  // 5
      return !c.triggered || t != n;
  }
}

uint8_t Pit8254::status_locked(const Counter& c, uint64_t now) const {
  return static_cast<uint8_t>((out_locked(c, now) ? 0x80 : 0) | (c.null_count ? 0x40 : 0) |
                              (c.rw << 4) | (c.mode << 1) | (c.bcd ? 1 : 0));
}

uint8_t Pit8254::read_counter_locked(Counter& c) {
  uint64_t now = time_.now_ns();
  if (c.status_latched) {
    c.status_latched = false;
    return c.latched_status;
  }
  uint16_t value = c.count_latched ? c.latched_count : count_value_locked(c, now);
  bool msb;
  if (c.rw == 3) {
    msb = c.read_msb_next;
    c.read_msb_next = !c.read_msb_next;
  } else {
    msb = c.rw == 2;
  }
  if (c.count_latched && (c.rw != 3 || msb)) c.count_latched = false;
  return static_cast<uint8_t>(msb ? value >> 8 : value);
}

void Pit8254::load_count_locked(int index, uint32_t raw) {
  Counter& c = counters_[index];
  uint32_t n = c.bcd ? from_bcd(raw) : raw;
  if (n == 0) n = c.bcd ? 10000 : 0x10000;
  c.count = n;
  c.loaded = true;
  c.null_count = false;
  c.frozen_ticks = 0;
  c.base_ns = time_.now_ns();
  c.triggered = false;
  // Modes 1 and 5 wait for a gate edge; the others count while the gate is high.
  c.counting = c.mode != 1 && c.mode != 5 && c.gate;
  if (index == 0) {
    if (irq_level_) set_irq_locked(false);
    schedule_locked();
  }
}

void Pit8254::write_counter_locked(int index, uint8_t value) {
  Counter& c = counters_[index];
  switch (c.rw) {
    case 1:
      load_count_locked(index, value);
      break;
    case 2:
      load_count_locked(index, uint32_t{value} << 8);
      break;
    default:
      if (!c.write_msb_next) {
        c.write_lsb = value;
        c.write_msb_next = true;
      } else {
        c.write_msb_next = false;
        load_count_locked(index, c.write_lsb | (uint32_t{value} << 8));
      }
      break;
  }
}

void Pit8254::write_control_locked(uint8_t value) {
  uint64_t now = time_.now_ns();
  int select = value >> 6;
  if (select == 3) {  // read-back command
    for (int i = 0; i < 3; i++) {
      if (!(value & (2 << i))) continue;
      Counter& c = counters_[i];
      if (!(value & 0x20) && !c.count_latched) {
        c.latched_count = count_value_locked(c, now);
        c.count_latched = true;
      }
      if (!(value & 0x10) && !c.status_latched) {
        c.latched_status = status_locked(c, now);
        c.status_latched = true;
      }
    }
    return;
  }
  Counter& c = counters_[select];
  uint8_t rw = (value >> 4) & 3;
  if (rw == 0) {  // counter latch command
    if (!c.count_latched) {
      c.latched_count = count_value_locked(c, now);
      c.count_latched = true;
    }
    return;
  }
  c.rw = rw;
  c.mode = (value >> 1) & 7;
  if (c.mode >= 6) c.mode -= 4;  // 6 and 7 are modes 2 and 3
  c.bcd = value & 1;
  c.loaded = false;
  c.counting = false;
  c.triggered = false;
  c.frozen_ticks = 0;
  c.write_msb_next = c.read_msb_next = false;
  c.count_latched = c.status_latched = false;
  c.null_count = true;
  if (select == 0) {
    if (irq_level_) set_irq_locked(false);
    schedule_locked();
  }
}

void Pit8254::set_gate_locked(int index, bool gate) {
  Counter& c = counters_[index];
  if (c.gate == gate) return;
  c.gate = gate;
  uint64_t now = time_.now_ns();
  switch (c.mode) {
    case 0:
    case 4:  // the gate pauses counting
      if (!gate) {
        c.frozen_ticks = ticks_locked(c, now);
        c.counting = false;
      } else if (c.loaded) {
        c.base_ns = now;
        c.counting = true;
      }
      break;
    case 2:
    case 3:  // gate low stops (OUT high); a rising edge reloads
      c.counting = gate && c.loaded;
      c.frozen_ticks = 0;
      c.base_ns = now;
      break;
    default:  // 1, 5: a rising edge triggers
      if (gate && c.loaded) {
        c.frozen_ticks = 0;
        c.base_ns = now;
        c.counting = true;
        c.triggered = true;
      }
      break;
  }
  if (index == 0) schedule_locked();
}

void Pit8254::schedule_locked() {
  timer_generation_++;
  if (timer_id_ != TimeSource::kNoTimer) time_.cancel(timer_id_);
  timer_id_ = TimeSource::kNoTimer;
  const Counter& c = counters_[0];
  if (!c.loaded || !c.counting) return;
  uint64_t now = time_.now_ns();
  uint64_t n = c.count, t = ticks_locked(c, now);
  uint64_t event_ticks;
  switch (c.mode) {
    case 0:
    case 4:
      if (t >= n) return;  // terminal count passed
      event_ticks = n;
      break;
    case 2:
    case 3:
      event_ticks = (t / n + 1) * n;
      break;
    default:
      return;  // modes 1 and 5 need a gate edge, and counter 0's gate is tied high
  }
  uint64_t deadline = c.base_ns + ticks_to_ns(event_ticks - c.frozen_ticks);
  bool periodic = c.mode == 2 || c.mode == 3;
  if (periodic && deadline < last_irq_ns_ + kMinPeriodNs) deadline = last_irq_ns_ + kMinPeriodNs;
  uint64_t generation = timer_generation_;
  timer_id_ = time_.arm(deadline, [this, generation] { on_timer(generation); });
}

void Pit8254::on_timer(uint64_t generation) {
  std::lock_guard lock(mu_);
  if (generation != timer_generation_) return;
  timer_id_ = TimeSource::kNoTimer;
  last_irq_ns_ = time_.now_ns();
  if (counters_[0].mode == 0) {
    set_irq_locked(true);  // OUT stays high until reprogrammed
    return;
  }
  set_irq_locked(true);  // a pulse: the rising edge is the interrupt
  set_irq_locked(false);
  schedule_locked();
}

void Pit8254::set_irq_locked(bool level) {
  irq_level_ = level;
  irq_.set_level(gsi_, level);
}

uint8_t Pit8254::read_port(uint16_t port) {
  std::lock_guard lock(mu_);
  if (port >= kPortBase && port < kPortControl)
    return read_counter_locked(counters_[port - kPortBase]);
  if (port == kPortControlB) {
    uint64_t now = time_.now_ns();
    bool refresh = (now / kRefreshToggleNs) & 1;
    return static_cast<uint8_t>(control_b_ | (refresh ? 0x10 : 0) |
                                (out_locked(counters_[2], now) ? 0x20 : 0));
  }
  return 0xFF;  // the control word register cannot be read
}

void Pit8254::write_port(uint16_t port, uint8_t value) {
  std::lock_guard lock(mu_);
  if (port >= kPortBase && port < kPortControl) {
    write_counter_locked(port - kPortBase, value);
  } else if (port == kPortControl) {
    write_control_locked(value);
  } else if (port == kPortControlB) {
    control_b_ = value & 0x0F;
    set_gate_locked(2, value & 1);
  }
}

std::shared_ptr<Device> Pit8254::counter_ports(std::shared_ptr<Pit8254> pit) {
  return std::make_shared<PitPorts>(std::move(pit), kPortBase, kPortCount, "pit");
}

std::shared_ptr<Device> Pit8254::control_b_port(std::shared_ptr<Pit8254> pit) {
  return std::make_shared<PitPorts>(std::move(pit), kPortControlB, 1, "system-control-b");
}

}  // namespace vessel
