// People across registrations (docs/design.md "People"): the keys that find
// a person at reception and match possible duplicates across centres, the
// duplicate rules, and the resolution of the hub admin's "same person"
// links into one canonical person. Pure: no I/O.
//
// A person is the set of registrations sharing a person_id. A registration
// made before person_id existed has none: its person is its own id
// (person_of).
#pragma once

#include <map>
#include <unordered_map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/core/model.h"

namespace terril {

// Folded text for search and sorting: lower case, accents removed (the
// Latin letters French and its neighbours use: « Lefèvre » -> "lefevre",
// « Œ » -> "oe", « ß » -> "ss"), hyphens, apostrophes, dots, commas and
// underscores read as spaces, runs of spaces as one, trimmed. Other
// characters are kept as they are (invalid UTF-8 bytes are dropped).
std::string fold_text(std::string_view s);

// The key two names match on: fold_text with every space removed, so
// "Jean-Pierre", "jean pierre" and "JEANPIERRE" are one key, as are
// « D'Almeida », "d almeida" and "Dalmeida" (particles glued or apart).
std::string name_match_key(std::string_view s);

// A phone number's digits, French national form: "+33 6 12 34 56 78",
// "0033 (0)6 12 34 56 78" and "06.12.34.56.78" all give "0612345678".
// Other international numbers keep their digits after the prefix ("+32 ..."
// -> "0032..."). "" when there is no digit.
std::string phone_digits(std::string_view s);

// Trimmed, lower case.
std::string email_key(std::string_view s);

// The search keys stored with a registration (typed columns name_key,
// phone_key, email_key): the folded "last first" (for search as staff type,
// and sorting), the phone's digits, the email. Empty for a deleted or
// erased record's purged fields.
struct PersonKeys {
  std::string name;   // fold_text(last_name) + " " + fold_text(first_name)
  std::string match;  // name_match_key(last) + "|" + name_match_key(first); "" if either is empty
  std::string phone;  // phone_digits
  std::string email;  // email_key
};
PersonKeys person_keys(const Record& r);

// The person a registration belongs to: its person_id, or its own id.
std::string person_of(const Record& r);

// Search as staff type: true when every word of fold_text(query) is found
// in `name_key`, or the query's digits (at least 3, and the query is mostly
// digits) are found in `phone_key`.
bool matches_query(std::string_view query, std::string_view name_key, std::string_view phone_key);
// The query as the store searches it: the folded words, and the digits when
// the query reads as a phone number (else "").
struct PeopleQuery {
  std::vector<std::string> words;
  std::string digits;
};
PeopleQuery parse_people_query(std::string_view query);

// --- Possible duplicates ---------------------------------------------------

// The rules two persons of different centres may match on, in the order
// they are reported. Names are stable (JSON, database); labels French.
enum class DuplicateRule : uint8_t { name = 1, phone = 2, email = 3 };
std::string_view rule_name(DuplicateRule r);      // "nom-prenom", "telephone", "courriel"
std::string_view rule_label_fr(DuplicateRule r);  // « même nom et prénom »...
// A phone key that can identify someone: 9 digits or more (a French number
// has 10), and not a placeholder (one digit repeated after the first, or
// the same pair four times: "06 06 06 06 06"). Others never match. A number
// many people share (the centre's own, given for people with no phone) is
// left out by the store (kSharedKeyPersons in store_people.cpp).
bool phone_identifies(std::string_view digits);

// Which rules a and b match on (empty: none). Keys as person_keys makes;
// an empty key never matches.
std::vector<DuplicateRule> duplicate_rules(const PersonKeys& a, const PersonKeys& b);

// "nom-prenom,telephone" <-> rules; unknown names are ignored.
std::string rules_text(const std::vector<DuplicateRule>& rules);
std::vector<DuplicateRule> parse_rules(std::string_view text);

// --- Aliases -----------------------------------------------------------------

// The hub admin's "same person" links resolved into classes: each person
// named in a link maps to its class's canonical id (the smallest id of the
// class, so every replica and every order of links agree). Chains and
// either direction of a link are one class. Persons in no link are not in
// the map: canonical() returns them unchanged.
class PersonAliases {
 public:
  PersonAliases() = default;
  explicit PersonAliases(const std::vector<std::pair<std::string, std::string>>& same_links);
  const std::string& canonical(const std::string& person) const;
  size_t size() const { return canon_.size(); }

 private:
  std::unordered_map<std::string, std::string> canon_;
};

}  // namespace terril
