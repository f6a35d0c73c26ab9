// People: folding and keys (a normalisation table), search, duplicate rules
// (positive and negative, with the rule named) and alias classes.
#include "common/core/people.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

using namespace terril;

namespace {

Record reg(std::string id, std::string last, std::string first, std::string phone = "", std::string email = "",
           std::string person = "") {
  Record r;
  r.entity = Entity::registration;
  r.id = std::move(id);
  r.centre_id = "denain";
  Stamp s{1, "n1"};
  r.fields[Field::last_name] = {last, s};
  r.fields[Field::first_name] = {first, s};
  if (!phone.empty()) r.fields[Field::phone] = {phone, s};
  if (!email.empty()) r.fields[Field::email] = {email, s};
  if (!person.empty()) r.fields[Field::person_id] = {person, s};
  return r;
}

}  // namespace

TEST_CASE("fold_text: accents, case, hyphens, apostrophes, spaces", "[people]") {
  struct Row {
    const char* in;
    const char* out;
  };
  const Row table[] = {
      {"Lefèvre", "lefevre"},
      {"LEFÈVRE", "lefevre"},
      {"  Lefevre  ", "lefevre"},
      {"Jean-Pierre", "jean pierre"},
      {"Jean  –  Pierre", "jean pierre"},
      {"D'Almeida", "d almeida"},
      {"D’Almeida", "d almeida"},
      {"Œillet", "oeillet"},
      {"Cœur", "coeur"},
      {"Strauß", "strauss"},
      {"Ãçñÿ", "acny"},
      {"Łukasz Wałęsa", "lukasz walesa"},
      {"Dvořák", "dvorak"},
      {"Müller", "muller"},
      {"Lefe\xcc\x80vre", "lefevre"},  // decomposed: e + combining grave
      {"Van der Berg", "van der berg"},
      {"N\xc2\xa0"
       "Diaye",
       "n diaye"},  // no-break space
      {"Zoë_Ab.c", "zoe ab c"},
      {"", ""},
      {"---", ""},
      {"李", "李"},
      {"bad\xff byte", "bad byte"},
  };
  for (const auto& row : table) {
    INFO(row.in);
    CHECK(fold_text(row.in) == row.out);
  }
}

TEST_CASE("name_match_key glues particles and compound names", "[people]") {
  CHECK(name_match_key("De La Fontaine") == name_match_key("Delafontaine"));
  CHECK(name_match_key("de-la-fontaine") == "delafontaine");
  CHECK(name_match_key("D'Almeida") == name_match_key("dalmeida"));
  CHECK(name_match_key("Jean-Pierre") == name_match_key("JEAN PIERRE"));
  CHECK(name_match_key("Lefèvre") == name_match_key("LEFEVRE"));
  CHECK(name_match_key("Lefèvre") != name_match_key("Lefebvre"));
}

TEST_CASE("phone_digits: French national form", "[people]") {
  struct Row {
    const char* in;
    const char* out;
  };
  const Row table[] = {
      {"06 12 34 56 78", "0612345678"},
      {"06.12.34.56.78", "0612345678"},
      {"06-12-34-56-78", "0612345678"},
      {"+33 6 12 34 56 78", "0612345678"},
      {"+33612345678", "0612345678"},
      {"0033 6 12 34 56 78", "0612345678"},
      {"+33 (0)6 12 34 56 78", "0612345678"},
      {"(+33) 6 12 34 56 78", "0612345678"},
      {"+32 2 123 45 67", "003221234567"},
      {"0032 2 123 45 67", "003221234567"},
      {"", ""},
      {"pas de téléphone", ""},
  };
  for (const auto& row : table) {
    INFO(row.in);
    CHECK(phone_digits(row.in) == row.out);
  }
}

TEST_CASE("email_key trims and lowers", "[people]") {
  CHECK(email_key("  Martine.Lefevre@Example.FR ") == "martine.lefevre@example.fr");
  CHECK(email_key("   ").empty());
}

TEST_CASE("search as staff type: words in any order, phone digits", "[people]") {
  PersonKeys k = person_keys(reg("00000000-0000-4000-8000-000000000001", "Lefèvre", "Martine", "06 12 34 56 78"));
  CHECK(k.name == "lefevre martine");
  CHECK(k.phone == "0612345678");
  CHECK(matches_query("lefevre", k.name, k.phone));
  CHECK(matches_query("LEF", k.name, k.phone));
  CHECK(matches_query("mart lef", k.name, k.phone));
  CHECK(matches_query("Lefèvre Martine", k.name, k.phone));
  CHECK(matches_query("06 12 34", k.name, k.phone));
  CHECK(matches_query("+33 6 12", k.name, k.phone));
  CHECK(matches_query("345678", k.name, k.phone));
  CHECK_FALSE(matches_query("lefebvre", k.name, k.phone));
  CHECK_FALSE(matches_query("martine dupont", k.name, k.phone));
  CHECK_FALSE(matches_query("0699", k.name, k.phone));
  CHECK_FALSE(matches_query("", k.name, k.phone));
  CHECK_FALSE(matches_query("  - ", k.name, k.phone));
  // Two digits are too few to read as a phone: they are searched as words.
  CHECK(parse_people_query("06").digits.empty());
  CHECK(parse_people_query("06").words == std::vector<std::string>{"06"});
}

TEST_CASE("person_of: person_id, else the registration's own id", "[people]") {
  CHECK(person_of(reg("00000000-0000-4000-8000-000000000001", "A", "B")) == "00000000-0000-4000-8000-000000000001");
  CHECK(person_of(reg("00000000-0000-4000-8000-000000000001", "A", "B", "", "",
                      "00000000-0000-4000-8000-0000000000ff")) == "00000000-0000-4000-8000-0000000000ff");
}

TEST_CASE("duplicate rules: which matched, and what never matches", "[people]") {
  auto keys = [](std::string last, std::string first, std::string phone = "", std::string email = "") {
    return person_keys(reg("00000000-0000-4000-8000-000000000001", last, first, phone, email));
  };
  using R = std::vector<DuplicateRule>;
  // Positive: the name, with accents, case, hyphens and particles apart.
  CHECK(duplicate_rules(keys("Lefèvre", "Martine"), keys("LEFEVRE", "martine")) == R{DuplicateRule::name});
  CHECK(duplicate_rules(keys("De La Fontaine", "Jean-Pierre"), keys("Delafontaine", "Jean Pierre")) ==
        R{DuplicateRule::name});
  // Positive: the phone in two spellings, names different (a typo).
  CHECK(duplicate_rules(keys("Lefèvre", "Martine", "06 12 34 56 78"), keys("Lefebvre", "Martine", "+33612345678")) ==
        R{DuplicateRule::phone});
  // Positive: the email, case apart.
  CHECK(duplicate_rules(keys("A", "B", "", "m.l@ex.fr"), keys("C", "D", "", "M.L@EX.FR ")) == R{DuplicateRule::email});
  // All three, reported in order.
  CHECK(duplicate_rules(keys("Lefèvre", "Martine", "0612345678", "m@ex.fr"),
                        keys("lefevre", "MARTINE", "06 12 34 56 78", "m@ex.fr")) ==
        R{DuplicateRule::name, DuplicateRule::phone, DuplicateRule::email});
  // Negative: same last name, other first name; other last name; a short
  // phone; no email on either side; an empty name never matches.
  CHECK(duplicate_rules(keys("Lefèvre", "Martine"), keys("Lefèvre", "Martin")).empty());
  CHECK(duplicate_rules(keys("Lefèvre", "Martine"), keys("Lefebvre", "Martine")).empty());
  CHECK(duplicate_rules(keys("A", "B", "1234"), keys("C", "D", "1234")).empty());
  CHECK(duplicate_rules(keys("A", "B", "00 00 00 00 00"), keys("C", "D", "0000000000")).empty());
  CHECK(duplicate_rules(keys("A", "B", "06 06 06 06 06"), keys("C", "D", "0606060606")).empty());
  CHECK(phone_identifies("0612345678"));
  CHECK(phone_identifies("0321000000"));
  CHECK_FALSE(phone_identifies("0111111111"));
  CHECK(duplicate_rules(keys("A", "B"), keys("C", "D")).empty());
  CHECK(duplicate_rules(keys("", "Martine"), keys("", "Martine")).empty());
  CHECK(rules_text({DuplicateRule::phone, DuplicateRule::name, DuplicateRule::phone}) == "nom-prenom,telephone");
  CHECK(parse_rules("nom-prenom,courriel,inconnu") == R{DuplicateRule::name, DuplicateRule::email});
  CHECK(parse_rules("").empty());
  CHECK(rule_label_fr(DuplicateRule::phone) == "même téléphone");
}

TEST_CASE("aliases: chains, either direction, canonical is the smallest", "[people]") {
  PersonAliases none;
  CHECK(none.canonical("p9") == "p9");
  PersonAliases a({{"p3", "p2"}, {"p4", "p3"}, {"p7", "p8"}});
  CHECK(a.canonical("p2") == "p2");
  CHECK(a.canonical("p3") == "p2");
  CHECK(a.canonical("p4") == "p2");
  CHECK(a.canonical("p8") == "p7");
  CHECK(a.canonical("p1") == "p1");
  CHECK(a.size() == 5);
  // Erasing one side removes its link: the chain p4-p3-p2 loses p3, and p4
  // is alone again.
  PersonAliases b(std::vector<std::pair<std::string, std::string>>{{"p7", "p8"}});
  CHECK(b.canonical("p4") == "p4");
  CHECK(b.canonical("p3") == "p3");
}

TEST_CASE("aliases: any order of the same links gives the same classes", "[people]") {
  const uint32_t seed = std::random_device{}();
  INFO("seed " << seed);
  std::printf("aliases property seed %u\n", seed);
  std::mt19937 rng(seed);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::pair<std::string, std::string>> links;
    int n = 2 + static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) links.emplace_back("p" + std::to_string(rng() % 15), "p" + std::to_string(rng() % 15));
    PersonAliases ref(links);
    auto shuffled = links;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    for (auto& l : shuffled)
      if (rng() % 2) std::swap(l.first, l.second);
    PersonAliases other(shuffled);
    for (int p = 0; p < 15; ++p) {
      std::string id = "p" + std::to_string(p);
      REQUIRE(ref.canonical(id) == other.canonical(id));
      REQUIRE(ref.canonical(id) <= id);
    }
    // Linked persons share a class.
    for (const auto& [x, y] : links) REQUIRE(ref.canonical(x) == ref.canonical(y));
  }
}
