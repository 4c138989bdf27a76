#include "vm/config_file.h"

#include <toml++/toml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "accel/select.h"
#include "base/size.h"
#include "base/uuid.h"
#include "block/disk_options.h"
#include "boot/loader.h"
#include "net/net_options.h"
#include "virtio/balloon_options.h"

namespace vessel {
namespace {

// Reads one file's keys; every error names the key it is about.
class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  template <typename... Args>
  Error error(std::string_view key, fmt::format_string<Args...> f, Args&&... args) const {
    return Error{
        fmt::format("{}: {}: {}", source_, key, fmt::format(f, std::forward<Args>(args)...))};
  }
  Error wrap(std::string_view key, const Error& e) const {
    return with_context(e, fmt::format("{}: {}", source_, key));
  }

  Expected<std::string> string(std::string_view key, const toml::node& n) const {
    if (auto v = n.value_exact<std::string>()) return *v;
    return error(key, "expected a string, not {}", type_name(n));
  }
  Expected<bool> boolean(std::string_view key, const toml::node& n) const {
    if (auto v = n.value_exact<bool>()) return *v;
    return error(key, "expected true or false, not {}", type_name(n));
  }
  Expected<int64_t> integer(std::string_view key, const toml::node& n) const {
    if (auto v = n.value_exact<int64_t>()) return *v;
    return error(key, "expected an integer, not {}", type_name(n));
  }
  // A size: a string with a suffix, or an integer in `unit_name` units.
  Expected<std::string> size(std::string_view key, const toml::node& n, uint64_t unit,
                             std::string_view unit_suffix) const {
    std::string text;
    if (auto s = n.value_exact<std::string>()) {
      text = *s;
    } else if (auto i = n.value_exact<int64_t>()) {
      if (*i < 0) return error(key, "a size cannot be negative ({})", *i);
      text = std::to_string(*i) + std::string(unit_suffix);
    } else {
      return error(key, "expected a size such as \"512M\", not {}", type_name(n));
    }
    auto parsed = parse_size(text, unit);
    if (!parsed.ok()) return wrap(key, parsed.error());
    return text;
  }
  Expected<const toml::table*> table(std::string_view key, const toml::node& n) const {
    if (const toml::table* t = n.as_table()) return t;
    return error(key, "expected a table, not {}", type_name(n));
  }
  Expected<const toml::array*> array(std::string_view key, const toml::node& n) const {
    if (const toml::array* a = n.as_array()) return a;
    return error(key, "expected an array, not {}", type_name(n));
  }

  static std::string_view type_name(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::string:
        return "a string";
      case toml::node_type::integer:
        return "an integer";
      case toml::node_type::floating_point:
        return "a floating-point number";
      case toml::node_type::boolean:
        return "a boolean";
      case toml::node_type::table:
        return "a table";
      case toml::node_type::array:
        return "an array";
      default:
        return "a date or time";
    }
  }

 private:
  std::string source_;
};

using KeyHandler = std::function<Status(std::string_view key, const toml::node&)>;

// Runs the handler of each key of `t` (named `prefix` + key in errors); a key
// without one is an error.
Status for_each_key(const Reader& r, const toml::table& t, std::string_view prefix,
                    const std::map<std::string, KeyHandler, std::less<>>& handlers) {
  for (auto&& [k, node] : t) {
    std::string name = std::string(prefix) + std::string(k.str());
    auto it = handlers.find(k.str());
    if (it == handlers.end()) {
      std::string known;
      for (const auto& [h, _] : handlers) known += (known.empty() ? "" : ", ") + h;
      return r.error(name, "unknown key (known here: {})", known);
    }
    VESSEL_TRY(it->second(name, node));
  }
  return ok_status();
}

// "key=value" options for the --disk / --net / --balloon texts.
void add_option(std::string& text, std::string_view key, std::string_view value) {
  if (!text.empty()) text += ',';
  text += key;
  text += '=';
  text += value;
}

Status check_no_comma(const Reader& r, std::string_view key, std::string_view value) {
  if (value.find(',') != std::string_view::npos)
    return r.error(key, "'{}' has a ',' (the option syntax cannot carry one)", value);
  return ok_status();
}

Expected<std::string> read_disk(const Reader& r, std::string_view name, const toml::table& t) {
  std::string path, options;
  auto str_option = [&](std::string_view opt) {
    return [&r, &options, opt](std::string_view key, const toml::node& n) -> Status {
      VESSEL_ASSIGN(std::string v, r.string(key, n));
      VESSEL_TRY(check_no_comma(r, key, v));
      add_option(options, opt, v);
      return ok_status();
    };
  };
  std::map<std::string, KeyHandler, std::less<>> keys = {
      {"path",
       [&](std::string_view key, const toml::node& n) -> Status {
         VESSEL_ASSIGN(path, r.string(key, n));
         if (path.empty()) return r.error(key, "is empty");
         return check_no_comma(r, key, path);
       }},
      {"format", str_option("format")},
      {"cache", str_option("cache")},
      {"aio", str_option("aio")},
      {"serial", str_option("serial")},
      {"readonly",
       [&](std::string_view key, const toml::node& n) -> Status {
         VESSEL_ASSIGN(bool v, r.boolean(key, n));
         add_option(options, "readonly", v ? "on" : "off");
         return ok_status();
       }},
  };
  VESSEL_TRY(for_each_key(r, t, std::string(name) + ".", keys));
  if (path.empty()) return r.error(name, "has no path");
  std::string text = options.empty() ? path : path + "," + options;
  auto parsed = parse_disk_options(text);
  if (!parsed.ok()) return r.wrap(name, parsed.error());
  return text;
}

Expected<std::string> read_net(const Reader& r, std::string_view name, const toml::table& t) {
  std::string mode, tap, options;
  std::vector<std::string> forwards;
  std::map<std::string, KeyHandler, std::less<>> keys = {
      {"mode",
       [&](std::string_view key, const toml::node& n) -> Status {
         VESSEL_ASSIGN(mode, r.string(key, n));
         if (mode != "user" && mode != "tap")
           return r.error(key, "'{}' is not one of: user, tap", mode);
         return ok_status();
       }},
      {"tap",
       [&](std::string_view key, const toml::node& n) -> Status {
         VESSEL_ASSIGN(tap, r.string(key, n));
         return check_no_comma(r, key, tap);
       }},
      {"hostfwd",
       [&](std::string_view key, const toml::node& n) -> Status {
         VESSEL_ASSIGN(const toml::array* a, r.array(key, n));
         for (size_t i = 0; i < a->size(); i++) {
           std::string item = fmt::format("{}[{}]", key, i);
           VESSEL_ASSIGN(std::string f, r.string(item, *a->get(i)));
           VESSEL_TRY(check_no_comma(r, item, f));
           forwards.push_back(std::move(f));
         }
         return ok_status();
       }},
      {"mac",
       [&](std::string_view key, const toml::node& n) -> Status {
         VESSEL_ASSIGN(std::string v, r.string(key, n));
         VESSEL_TRY(check_no_comma(r, key, v));
         add_option(options, "mac", v);
         return ok_status();
       }},
      {"mtu",
       [&](std::string_view key, const toml::node& n) -> Status {
         VESSEL_ASSIGN(int64_t v, r.integer(key, n));
         add_option(options, "mtu", std::to_string(v));
         return ok_status();
       }},
  };
  VESSEL_TRY(for_each_key(r, t, std::string(name) + ".", keys));
  if (mode.empty()) mode = tap.empty() ? "user" : "tap";
  std::string text;
  if (mode == "tap") {
    if (tap.empty()) return r.error(name, "mode \"tap\" needs tap = \"NAME\"");
    if (!forwards.empty()) return r.error(name, "hostfwd is for mode \"user\" only");
    text = "tap=" + tap;
  } else {
    if (!tap.empty()) return r.error(name, "tap = \"{}\" with mode \"user\"", tap);
    text = "user";
    for (const std::string& f : forwards) text += ",hostfwd=" + f;
  }
  if (!options.empty()) text += "," + options;
  auto parsed = parse_net_options(text);
  if (!parsed.ok()) return r.wrap(name, parsed.error());
  return text;
}

Expected<std::string> read_balloon(const Reader& r, std::string_view name, const toml::node& n) {
  std::string text;
  if (n.value_exact<bool>()) return text;  // balloon = true: every default (false: the caller)
  VESSEL_ASSIGN(const toml::table* t, r.table(name, n));
  auto flag = [&](std::string_view opt) {
    return [&r, &text, opt](std::string_view key, const toml::node& v) -> Status {
      VESSEL_ASSIGN(bool b, r.boolean(key, v));
      add_option(text, opt, b ? "on" : "off");
      return ok_status();
    };
  };
  std::map<std::string, KeyHandler, std::less<>> keys = {
      {"size",
       [&](std::string_view key, const toml::node& v) -> Status {
         VESSEL_ASSIGN(std::string s, r.size(key, v, 1, ""));
         add_option(text, "size", s);
         return ok_status();
       }},
      {"deflate_on_oom", flag("deflate_on_oom")},
      {"free_page_reporting", flag("free_page_reporting")},
      {"stats_period",
       [&](std::string_view key, const toml::node& v) -> Status {
         VESSEL_ASSIGN(int64_t s, r.integer(key, v));
         add_option(text, "stats_period", std::to_string(s));
         return ok_status();
       }},
  };
  VESSEL_TRY(for_each_key(r, *t, std::string(name) + ".", keys));
  auto parsed = parse_balloon_options(text);
  if (!parsed.ok()) return r.wrap(name, parsed.error());
  return text;
}

}  // namespace

Expected<ConfigFileValues> parse_config_file(std::string_view text, std::string_view source) {
  Reader r(source);
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return make_error("{}:{}:{}: {}", source, where.line, where.column, e.description());
  }
  ConfigFileValues out;
  auto text_key = [&](std::optional<std::string>& field,
                      std::function<Status(const std::string&)> check = nullptr) {
    return [&r, &field, check](std::string_view key, const toml::node& n) -> Status {
      VESSEL_ASSIGN(std::string v, r.string(key, n));
      if (check) {
        Status st = check(v);
        if (!st.ok()) return r.wrap(key, st.error());
      }
      field = std::move(v);
      return ok_status();
    };
  };
  auto bool_key = [&](std::optional<bool>& field) {
    return [&r, &field](std::string_view key, const toml::node& n) -> Status {
      VESSEL_ASSIGN(field, r.boolean(key, n));
      return ok_status();
    };
  };
  // An array of tables ([[disk]], [[net]]), each read into its flag's text.
  using TableReader =
      Expected<std::string> (*)(const Reader&, std::string_view, const toml::table&);
  auto table_list = [&](std::optional<std::vector<std::string>>& field, TableReader read) {
    return [&r, &field, read](std::string_view key, const toml::node& n) -> Status {
      VESSEL_ASSIGN(const toml::array* a, r.array(key, n));
      field.emplace();
      for (size_t i = 0; i < a->size(); i++) {
        std::string name = fmt::format("{}[{}]", key, i);
        VESSEL_ASSIGN(const toml::table* t, r.table(name, *a->get(i)));
        VESSEL_ASSIGN(std::string text, read(r, name, *t));
        field->push_back(std::move(text));
      }
      return ok_status();
    };
  };
  std::map<std::string, KeyHandler, std::less<>> keys = {
      {"kernel", text_key(out.kernel)},
      {"initrd", text_key(out.initrd)},
      {"cmdline", text_key(out.cmdline)},
      {"api_socket", text_key(out.api_socket)},
      {"accel", text_key(out.accel,
                         [](const std::string& v) -> Status {
                           VESSEL_TRY(parse_accel_choice(v));
                           return ok_status();
                         })},
      {"jit", text_key(out.jit,
                       [](const std::string& v) -> Status {
                         VESSEL_TRY(parse_jit_switch(v));
                         return ok_status();
                       })},
      {"kernel_format", text_key(out.kernel_format,
                                 [](const std::string& v) -> Status {
                                   VESSEL_TRY(parse_kernel_format(v));
                                   return ok_status();
                                 })},
      {"console", text_key(out.console,
                           [](const std::string& v) -> Status {
                             if (v != "serial" && v != "virtio")
                               return make_error("'{}' is not one of: serial, virtio", v);
                             return ok_status();
                           })},
      {"uuid", text_key(out.uuid,
                        [](const std::string& v) -> Status {
                          VESSEL_TRY(parse_uuid(v));
                          return ok_status();
                        })},
      {"load_addr",
       [&](std::string_view key, const toml::node& n) -> Status {
         std::string v;
         if (auto i = n.value_exact<int64_t>()) {
           v = std::to_string(*i);
         } else {
           VESSEL_ASSIGN(v, r.string(key, n));
         }
         auto parsed = parse_u64(v);
         if (!parsed.ok()) return r.wrap(key, parsed.error());
         out.load_addr = v;
         return ok_status();
       }},
      {"memory",
       [&](std::string_view key, const toml::node& n) -> Status {
         VESSEL_ASSIGN(out.memory, r.size(key, n, 1ull << 20, "M"));
         return ok_status();
       }},
      {"cpus",
       [&](std::string_view key, const toml::node& n) -> Status {
         VESSEL_ASSIGN(int64_t v, r.integer(key, n));
         if (v < 1 || v > 255) return r.error(key, "{} is not from 1 to 255", v);
         out.cpus = static_cast<int>(v);
         return ok_status();
       }},
      {"rng", bool_key(out.rng)},
      {"debug_exit", bool_key(out.debug_exit)},
      {"reboot", bool_key(out.reboot)},
      {"balloon",
       [&](std::string_view key, const toml::node& n) -> Status {
         if (n.value_exact<bool>() == false) return ok_status();  // balloon = false
         VESSEL_ASSIGN(out.balloon, read_balloon(r, key, n));
         return ok_status();
       }},
      {"disk", table_list(out.disks, read_disk)},
      {"net", table_list(out.nets, read_net)},
  };
  VESSEL_TRY(for_each_key(r, root, "", keys));
  return out;
}

Expected<ConfigFileValues> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read the config file '{}': {}", path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error("cannot read the config file '{}'", path);
  return parse_config_file(text.str(), path);
}

}  // namespace vessel
