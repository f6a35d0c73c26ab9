// Folding, keys, duplicate rules and alias classes for people (people.h). Pure.
#include "common/core/people.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <unordered_map>

namespace terril {
namespace {

// What a Latin letter with a diacritic folds to, over U+00C0..U+017F, in
// ranges of consecutive code points with one replacement. A code point in
// no range is kept as it is.
struct Fold {
  char32_t first, last;
  const char* to;
};
constexpr std::array kFolds = {
    Fold{0xC0, 0xC5, "a"},   Fold{0xC6, 0xC6, "ae"},   Fold{0xC7, 0xC7, "c"},   Fold{0xC8, 0xCB, "e"},
    Fold{0xCC, 0xCF, "i"},   Fold{0xD0, 0xD0, "d"},    Fold{0xD1, 0xD1, "n"},   Fold{0xD2, 0xD6, "o"},
    Fold{0xD8, 0xD8, "o"},   Fold{0xD9, 0xDC, "u"},    Fold{0xDD, 0xDD, "y"},   Fold{0xDE, 0xDE, "th"},
    Fold{0xDF, 0xDF, "ss"},  Fold{0xE0, 0xE5, "a"},    Fold{0xE6, 0xE6, "ae"},  Fold{0xE7, 0xE7, "c"},
    Fold{0xE8, 0xEB, "e"},   Fold{0xEC, 0xEF, "i"},    Fold{0xF0, 0xF0, "d"},   Fold{0xF1, 0xF1, "n"},
    Fold{0xF2, 0xF6, "o"},   Fold{0xF8, 0xF8, "o"},    Fold{0xF9, 0xFC, "u"},   Fold{0xFD, 0xFD, "y"},
    Fold{0xFE, 0xFE, "th"},  Fold{0xFF, 0xFF, "y"},    Fold{0x100, 0x105, "a"}, Fold{0x106, 0x10D, "c"},
    Fold{0x10E, 0x111, "d"}, Fold{0x112, 0x11B, "e"},  Fold{0x11C, 0x123, "g"}, Fold{0x124, 0x127, "h"},
    Fold{0x128, 0x131, "i"}, Fold{0x132, 0x133, "ij"}, Fold{0x134, 0x135, "j"}, Fold{0x136, 0x138, "k"},
    Fold{0x139, 0x142, "l"}, Fold{0x143, 0x14B, "n"},  Fold{0x14C, 0x151, "o"}, Fold{0x152, 0x153, "oe"},
    Fold{0x154, 0x159, "r"}, Fold{0x15A, 0x161, "s"},  Fold{0x162, 0x167, "t"}, Fold{0x168, 0x173, "u"},
    Fold{0x174, 0x175, "w"}, Fold{0x176, 0x178, "y"},  Fold{0x179, 0x17E, "z"}, Fold{0x17F, 0x17F, "s"},
};

// Read as a word break: spaces, hyphens, apostrophes, dots, commas, underscores.
bool is_break(char32_t c) {
  switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case '-':
    case '\'':
    case '.':
    case ',':
    case '_':
    case 0xA0:    // no-break space
    case 0x2018:  // ‘
    case 0x2019:  // ’
    case 0x02BC:  // ʼ
    case 0x2010:  // hyphens and dashes
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2014:
    case 0x202F:  // narrow no-break space
      return true;
    default:
      return false;
  }
}

// Decodes one UTF-8 sequence at s[i], advancing i; 0xFFFFFFFF for an invalid byte.
char32_t next_code_point(std::string_view s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i++]);
  if (b < 0x80) return b;
  int extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : -1;
  if (extra < 0 || b > 0xF4) return 0xFFFFFFFF;
  char32_t c = b & (0x3F >> extra);
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size()) return 0xFFFFFFFF;
    auto cb = static_cast<unsigned char>(s[i]);
    if ((cb & 0xC0) != 0x80) return 0xFFFFFFFF;
    c = (c << 6) | (cb & 0x3F);
    ++i;
  }
  return c;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::string fold_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (size_t i = 0; i < s.size();) {
    char32_t c = next_code_point(s, i);
    if (c == 0xFFFFFFFF) continue;
    if (c >= 0x300 && c <= 0x36F) continue;  // combining accents (decomposed input)
    if (is_break(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out += ' ';
      pending_space = false;
    }
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
      continue;
    }
    const char* to = nullptr;
    if (c >= 0xC0 && c <= 0x17F)
      for (const auto& f : kFolds)
        if (c >= f.first && c <= f.last) to = f.to;
    if (to)
      out += to;
    else
      append_utf8(out, c);
  }
  return out;
}

std::string name_match_key(std::string_view s) {
  std::string f = fold_text(s);
  f.erase(std::remove(f.begin(), f.end(), ' '), f.end());
  return f;
}

std::string phone_digits(std::string_view s) {
  std::string d;
  bool plus = false;
  for (char c : s) {
    if (is_digit(c))
      d += c;
    else if (c == '+' && d.empty())
      plus = true;
  }
  if (d.empty()) return d;
  if (plus) d = "00" + d;
  if (d.starts_with("0033")) {
    std::string rest = d.substr(4);
    if (rest.starts_with("0")) rest.erase(0, 1);  // "+33 (0)6 ..."
    return "0" + rest;
  }
  return d;
}

std::string email_key(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  std::string out(s.substr(b, e - b + 1));
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

PersonKeys person_keys(const Record& r) {
  PersonKeys k;
  std::string last = r.text(Field::last_name).value_or("");
  std::string first = r.text(Field::first_name).value_or("");
  std::string fl = fold_text(last), ff = fold_text(first);
  k.name = fl.empty() ? ff : ff.empty() ? fl : fl + " " + ff;
  std::string ml = name_match_key(last), mf = name_match_key(first);
  if (!ml.empty() && !mf.empty()) k.match = ml + "|" + mf;
  k.phone = phone_digits(r.text(Field::phone).value_or(""));
  k.email = email_key(r.text(Field::email).value_or(""));
  return k;
}

std::string person_of(const Record& r) {
  auto p = r.text(Field::person_id);
  return p && !p->empty() ? *p : r.id;
}

PeopleQuery parse_people_query(std::string_view query) {
  PeopleQuery q;
  size_t digits = 0, letters = 0;
  for (char c : query) {
    if (is_digit(c))
      ++digits;
    else if (!(c == ' ' || c == '+' || c == '.' || c == '-' || c == '(' || c == ')' || c == '/'))
      ++letters;
  }
  if (digits >= 3 && letters == 0) {
    q.digits = phone_digits(query);
    return q;
  }
  std::string f = fold_text(query);
  size_t at = 0;
  while (at < f.size()) {
    size_t sp = f.find(' ', at);
    if (sp == std::string::npos) sp = f.size();
    if (sp > at) q.words.push_back(f.substr(at, sp - at));
    at = sp + 1;
  }
  return q;
}

bool matches_query(std::string_view query, std::string_view name_key, std::string_view phone_key) {
  PeopleQuery q = parse_people_query(query);
  if (!q.digits.empty()) return phone_key.find(q.digits) != std::string_view::npos;
  if (q.words.empty()) return false;
  for (const auto& w : q.words)
    if (name_key.find(w) == std::string_view::npos) return false;
  return true;
}

// --- Duplicates ------------------------------------------------------------

std::string_view rule_name(DuplicateRule r) {
  switch (r) {
    case DuplicateRule::name:
      return "nom-prenom";
    case DuplicateRule::phone:
      return "telephone";
    case DuplicateRule::email:
      return "courriel";
  }
  return "";
}

std::string_view rule_label_fr(DuplicateRule r) {
  switch (r) {
    case DuplicateRule::name:
      return "même nom et prénom";
    case DuplicateRule::phone:
      return "même téléphone";
    case DuplicateRule::email:
      return "même courriel";
  }
  return "";
}

bool phone_identifies(std::string_view digits) {
  if (digits.size() < 9) return false;
  // "00 00 00 00 00", "06 06 06 06 06": placeholders typed when a person
  // has no phone.
  auto tail = digits.substr(1);
  return tail.find_first_not_of(tail[0]) != std::string_view::npos &&
         !(digits.size() == 10 && digits.substr(2, 2) == digits.substr(4, 2) &&
           digits.substr(4, 2) == digits.substr(6, 2) && digits.substr(6, 2) == digits.substr(8, 2));
}

std::vector<DuplicateRule> duplicate_rules(const PersonKeys& a, const PersonKeys& b) {
  std::vector<DuplicateRule> out;
  if (!a.match.empty() && a.match == b.match) out.push_back(DuplicateRule::name);
  if (phone_identifies(a.phone) && a.phone == b.phone) out.push_back(DuplicateRule::phone);
  if (!a.email.empty() && a.email == b.email) out.push_back(DuplicateRule::email);
  return out;
}

std::string rules_text(const std::vector<DuplicateRule>& rules) {
  std::vector<DuplicateRule> sorted = rules;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string out;
  for (auto r : sorted) {
    if (!out.empty()) out += ',';
    out += rule_name(r);
  }
  return out;
}

std::vector<DuplicateRule> parse_rules(std::string_view text) {
  std::vector<DuplicateRule> out;
  size_t at = 0;
  while (at <= text.size()) {
    size_t comma = text.find(',', at);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view name = text.substr(at, comma - at);
    for (auto r : {DuplicateRule::name, DuplicateRule::phone, DuplicateRule::email})
      if (rule_name(r) == name) out.push_back(r);
    at = comma + 1;
  }
  return out;
}

// --- Aliases -----------------------------------------------------------------

PersonAliases::PersonAliases(const std::vector<std::pair<std::string, std::string>>& same_links) {
  // Union-find over small numbers; views into same_links, which outlives this.
  std::unordered_map<std::string_view, uint32_t> number;
  std::vector<std::string_view> names;
  std::vector<uint32_t> parent;
  auto of = [&](const std::string& s) {
    auto [it, fresh] = number.try_emplace(s, static_cast<uint32_t>(names.size()));
    if (fresh) {
      names.push_back(s);
      parent.push_back(it->second);
    }
    return it->second;
  };
  auto find = [&](uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];  // path halving
    return x;
  };
  for (const auto& [a, b] : same_links) {
    uint32_t ra = find(of(a)), rb = find(of(b));
    if (ra == rb) continue;
    // The root is the smallest id of its class: a root only ever gives way to a smaller one.
    if (names[rb] < names[ra]) std::swap(ra, rb);
    parent[rb] = ra;
  }
  canon_.reserve(names.size());
  for (uint32_t i = 0; i < names.size(); ++i) canon_.emplace(std::string(names[i]), std::string(names[find(i)]));
}

const std::string& PersonAliases::canonical(const std::string& person) const {
  auto it = canon_.find(person);
  return it == canon_.end() ? person : it->second;
}

}  // namespace terril
