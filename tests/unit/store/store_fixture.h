// Shared helpers of the store tests: record builders, sync loops between a
// node store and a hub store, raw SQL reads. Header-only. Temporary folders:
// TempDir from tests/support/temp_dir.h, included here.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/store/store.h"
#include "common/store/testing.h"
#include "tests/support/temp_dir.h"

namespace terril::test {

// 2026-11-29T00:00:00Z-ish: a plausible "now" for every test.
constexpr int64_t kNow = 1796000000000;

inline std::string uuid(uint64_t n, uint32_t kind = 0) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012llx", kind, static_cast<unsigned long long>(n));
  return buf;
}

inline StoreOptions node_opts(const std::string& node_id) {
  StoreOptions o;
  o.origin = node_id;
  return o;
}
inline StoreOptions hub_opts() {
  StoreOptions o;
  o.origin = "hub";
  o.hub = true;
  return o;
}

inline std::unique_ptr<Store> open_store(const std::string& path, StoreOptions opts) {
  auto s = Store::open(path, std::move(opts));
  INFO(s.status().to_string());
  REQUIRE(s.is_ok());
  return std::move(s.value());
}

template <typename T>
T ok(Result<T> r) {
  INFO(r.status().to_string() << " / " << r.status().message_fr());
  REQUIRE(r.is_ok());
  return std::move(r.value());
}
inline void ok(const Status& s) {
  INFO(s.to_string());
  REQUIRE(s.is_ok());
}

inline LocalWrite centre_write(const std::string& slug, const std::string& agglo = "lens-lievin",
                               const std::string& town = "Lens") {
  LocalWrite w;
  w.entity = Entity::centre;
  w.record_id = slug;
  w.centre_id = slug;
  w.fields = {{Field::name, Value{"Centre " + slug}}, {Field::agglomeration, Value{agglo}}, {Field::town, Value{town}}};
  return w;
}

inline LocalWrite event_write(const std::string& id, const std::string& centre, const std::string& title = "Atelier",
                              const std::string& kind = "atelier", int64_t starts = kNow + 86400000) {
  LocalWrite w;
  w.entity = Entity::event;
  w.record_id = id;
  w.centre_id = centre;
  w.fields = {{Field::title, Value{title}}, {Field::kind, Value{kind}}, {Field::starts_at, Value{starts}}};
  return w;
}

inline LocalWrite registration_write(const std::string& id, const std::string& centre, const std::string& event_id,
                                     const std::string& first = "Marie", const std::string& last = "Dupont",
                                     const std::string& role = "habitant") {
  LocalWrite w;
  w.entity = Entity::registration;
  w.record_id = id;
  w.centre_id = centre;
  w.fields = {{Field::event_id, Value{event_id}}, {Field::first_name, Value{first}},
              {Field::last_name, Value{last}},    {Field::phone, Value{std::string("03 21 00 00 00")}},
              {Field::role, Value{role}},         {Field::consent_at, Value{kNow}}};
  return w;
}

inline LocalWrite update_write(Entity e, const std::string& id, std::vector<FieldValue> fields) {
  LocalWrite w;
  w.entity = e;
  w.record_id = id;
  w.fields = std::move(fields);
  return w;
}

inline LocalWrite op_write(Entity e, const std::string& id, Op op) {
  LocalWrite w;
  w.entity = e;
  w.record_id = id;
  w.op = op;
  return w;
}

// A registration creation as a remote node would send it.
inline Change registration_change(const std::string& origin, uint64_t seq, uint64_t hlc, const std::string& id,
                                  const std::string& centre, const std::string& event_id,
                                  const std::string& last = "Martin") {
  Change c;
  c.origin = origin;
  c.origin_seq = seq;
  c.hlc = hlc;
  c.entity = Entity::registration;
  c.record_id = id;
  c.centre_id = centre;
  c.fields = {{Field::created_at, Value{kNow}},  // sorted by field number
              {Field::phone, Value{std::string("0612345678")}},
              {Field::event_id, Value{event_id}},
              {Field::first_name, Value{std::string("Jean")}},
              {Field::last_name, Value{last}},
              {Field::role, Value{std::string("habitant")}},
              {Field::consent_at, Value{kNow}}};
  return c;
}

inline Status allow_all(const Change&, const Record*, const std::string&) {
  return Status::ok();
}

// Node -> hub until the node has nothing unsent; returns changes applied.
inline uint64_t push(Store& node, Store& hub, const std::string& node_id, int64_t now = kNow,
                     const Judge& judge = allow_all) {
  uint64_t applied = 0;
  for (;;) {
    auto st = ok(node.stats());
    auto out = ok(node.own_changes_after(st.acked_seq, 100));
    if (out.changes.empty()) return applied;
    auto rep = ok(hub.apply_from_node(node_id, out.changes, judge, now));
    applied += rep.applied;
    ok(node.add_rejections(rep.rejections));
    ok(node.set_acked(rep.cursor));
  }
}

// Hub -> node until caught up; returns changes applied.
inline uint64_t pull(Store& hub, Store& node, const std::string& centre, const std::string& node_id,
                     int64_t now = kNow) {
  uint64_t applied = 0;
  for (;;) {
    uint64_t cursor = ok(node.stats()).hub_cursor;
    auto out = ok(hub.changes_for_centre(centre, node_id, cursor, 100));
    if (out.last_seq <= cursor) return applied;
    applied += ok(node.apply_from_hub(out.changes, out.last_seq, now)).applied;
  }
}

// One integer from a SQL query on the store's connection.
inline int64_t sql_int(Store& s, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(store::testing::raw_handle(s), sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

inline std::string sql_text(Store& s, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(store::testing::raw_handle(s), sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  std::string v = t ? t : "";
  sqlite3_finalize(st);
  return v;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace terril::test
