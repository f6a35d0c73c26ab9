// Reading records: get, paged lists, counts and exports over the typed
// columns, with the one WHERE builder they share (filters, search, dates,
// paging), and the rejections read back.
#include <algorithm>
#include <charconv>
#include <variant>

#include "common/core/record_codec.h"
#include "common/store/store_impl.h"

namespace terril {

namespace {

// The search columns and the time column of each entity, for list().
struct QueryColumns {
  std::array<std::string_view, 3> search;
  std::string_view time;
};
QueryColumns query_columns(Entity e) {
  switch (e) {
    case Entity::centre:
      return {{"name", "town", ""}, "created_at"};
    case Entity::event:
      return {{"title", "place", ""}, "starts_at"};
    case Entity::registration:
      return {{"first_name", "last_name", "email"}, "created_at"};
    case Entity::prototype_note:
      return {{"title", "summary", "tags"}, "created_at"};
  }
  return {};
}

// LIKE pattern matching `s` anywhere, with % _ \ escaped (ESCAPE '\').
std::string like_pattern(std::string_view s) {
  std::string p = "%";
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  p += '%';
  return p;
}

using BindValue = std::variant<int64_t, std::string>;

struct Where {
  std::string sql;  // " WHERE ..." or ""
  std::vector<BindValue> binds;
  void add(std::string clause) {
    sql += sql.empty() ? " WHERE " : " AND ";
    sql += clause;
  }
};

void bind_all(Query& q, const std::vector<BindValue>& binds) {
  int i = 1;
  for (const auto& b : binds) {
    if (std::holds_alternative<int64_t>(b))
      q.bind(i++, std::get<int64_t>(b));
    else
      q.bind(i++, std::string_view(std::get<std::string>(b)));
  }
}

// The WHERE clause of list/count_by/for_each on table alias `t`. Column names
// come from the whitelist below, never from the query; values are bound.
Status build_where(Entity e, const ListQuery& q, bool live_only, Where& w) {
  for (const auto& [key, value] : q.filters) {
    bool ok = false;
    if (key == "centre_id") {
      w.add("t.centre_id = ?");
      w.binds.emplace_back(value);
      ok = true;
    } else if (key == "agglomeration" && e == Entity::centre) {
      w.add("t.agglomeration = ?");
      w.binds.emplace_back(value);
      ok = true;
    } else if (key == "agglomeration" && e == Entity::registration) {
      w.add("t.centre_id IN (SELECT c.id FROM centres c WHERE c.agglomeration = ?)");
      w.binds.emplace_back(value);
      ok = true;
    } else if (key == "attended" && e == Entity::registration) {
      if (value != "true" && value != "false")
        return invalid("filter attended must be true or false", "Le filtre « présence » doit valoir true ou false.",
                       "attended");
      w.add("coalesce(t.attended, 0) = ?");
      w.binds.emplace_back(int64_t{value == "true"});
      ok = true;
    } else if (key == "person_id" && e == Entity::registration) {
      w.add("t.person = ?");
      w.binds.emplace_back(value);
      ok = true;
    } else if ((key == "event_id" || key == "role" || key == "qpv" || key == "genre") && e == Entity::registration) {
      ok = true;
    } else if (key == "kind" && e == Entity::event) {
      ok = true;
    } else if (key == "status" && e == Entity::prototype_note) {
      ok = true;
    }
    if (!ok) return invalid("unknown filter for " + std::string(entity_name(e)), "Filtre inconnu : " + key + ".", key);
    if (key == "event_id" || key == "role" || key == "kind" || key == "status" || key == "qpv" || key == "genre") {
      w.add("t." + key + " = ?");  // key is one of the literals just checked
      w.binds.emplace_back(value);
    }
  }
  const QueryColumns cols = query_columns(e);
  if (!q.search.empty()) {
    std::string clause = "(";
    for (auto c : cols.search) {
      if (c.empty()) continue;
      if (clause.size() > 1) clause += " OR ";
      clause += "t.";
      clause += c;
      clause += " LIKE ? ESCAPE '\\'";
      w.binds.emplace_back(like_pattern(q.search));
    }
    w.add(clause + ")");
  }
  if (q.from_ms != 0) {
    w.add("t." + std::string(cols.time) + " >= ?");
    w.binds.emplace_back(q.from_ms);
  }
  if (q.to_ms != 0) {
    w.add("t." + std::string(cols.time) + " < ?");
    w.binds.emplace_back(q.to_ms);
  }
  if (live_only || !q.include_deleted) w.add("t.deleted = 0");
  return Status::ok();
}

// The order of a list (ListQuery::sort): one sort expression, then the id.
struct Order {
  std::string expr;  // over table alias t; a column name or coalesce() of one
  bool integer = false;
  bool desc = false;
};
Result<Order> order_of(Entity e, std::string_view sort) {
  const bool by_name = sort == "name", by_date = sort == "date";
  if (!sort.empty() && !by_name && !by_date)
    return invalid("sort must be name or date", "Le tri doit valoir « name » ou « date ».", "sort");
  switch (e) {
    case Entity::registration:
      if (by_date) return Order{"coalesce(t.created_at, 0)", true, true};
      return Order{"t.name_key", false, false};
    case Entity::event:
      if (by_name) return Order{"lower(coalesce(t.title, ''))", false, false};
      return Order{"coalesce(t.starts_at, 0)", true, false};
    case Entity::centre:
      if (by_date) return Order{"coalesce(t.created_at, 0)", true, true};
      return Order{"lower(coalesce(t.name, ''))", false, false};
    case Entity::prototype_note:
      if (by_name) return Order{"lower(coalesce(t.title, ''))", false, false};
      if (by_date) return Order{"coalesce(t.created_at, 0)", true, true};
      return Order{"t.updated_at", true, true};
  }
  return invalid("unknown entity", "Type de fiche inconnu.");
}

// The paging cursor: the last item's sort key, '|', its id (ids hold no '|').
std::string cursor_of(const Query& q, int key_column, const std::string& id) {
  return std::string(q.text(key_column)) + "|" + id;
}

// Keyset paging after `cursor`: (key, id) strictly after it in the order.
Status add_after(const Order& o, const std::string& cursor, Where& w) {
  size_t bar = cursor.rfind('|');
  if (bar == std::string::npos) return invalid("bad paging cursor", "Le curseur de page n'est pas valide.", "after");
  std::string key = cursor.substr(0, bar), id = cursor.substr(bar + 1);
  w.add("(" + o.expr + ", t.id) " + (o.desc ? "<" : ">") + " (?, ?)");
  if (o.integer) {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), n);
    if (ec != std::errc() || p != key.data() + key.size())
      return invalid("bad paging cursor", "Le curseur de page n'est pas valide.", "after");
    w.binds.emplace_back(n);
  } else {
    w.binds.emplace_back(std::move(key));
  }
  w.binds.emplace_back(std::move(id));
  return Status::ok();
}

std::string render_column(const Query& q, int c, ValueKind kind) {
  if (q.is_null(c)) return {};
  switch (kind) {
    case ValueKind::boolean:
      return q.i64(c) ? "true" : "false";
    case ValueKind::integer:
    case ValueKind::time:
      return std::to_string(q.i64(c));
    case ValueKind::text:
      return std::string(q.text(c));
  }
  return {};
}

}  // namespace

// --- Records -----------------------------------------------------------------

Result<std::optional<Record>> Store::get(Entity e, const std::string& id) {
  if (!valid_entity(static_cast<uint32_t>(e))) return invalid("unknown entity", "Type de fiche inconnu.");
  Impl::Loaded ld;
  if (Status s = impl_->load(e, id, ld); !s) return s;
  return std::move(ld.rec);
}

Result<uint64_t> Store::local_seq(Entity e, const std::string& id) {
  if (!valid_entity(static_cast<uint32_t>(e))) return invalid("unknown entity", "Type de fiche inconnu.");
  Impl::Loaded ld;
  if (Status s = impl_->load(e, id, ld); !s) return s;
  return ld.local_seq;
}

namespace {
Status read_record(Entity e, const Query& q, Record& r) {
  r = Record{};
  r.entity = e;
  r.id = std::string(q.text(0));
  r.centre_id = std::string(q.text(1));
  return decode_state(q.blob(2), r);
}
}  // namespace

Result<Page> Store::list(Entity e, const ListQuery& q) {
  if (!valid_entity(static_cast<uint32_t>(e))) return invalid("unknown entity", "Type de fiche inconnu.");
  Where w;
  if (Status s = build_where(e, q, false, w); !s) return s;
  auto order = order_of(e, q.sort);
  if (!order) return order.status();
  if (!q.after.empty())
    if (Status s = add_after(*order, q.after, w); !s) return s;
  const size_t limit = std::clamp<size_t>(q.limit, 1, 1000);
  const char* dir = order->desc ? " DESC" : "";
  const std::string sql = "SELECT t.id, t.centre_id, t.state, " + order->expr + " FROM " + std::string(spec(e).table) +
                          " t" + w.sql + " ORDER BY " + order->expr + dir + ", t.id" + dir + " LIMIT ?";
  Status err;
  sqlite3_stmt* st = impl_->cache.get(sql, &err);
  if (!st) return err;
  Query query(st);
  bind_all(query, w.binds);
  query.bind(static_cast<int>(w.binds.size()) + 1, static_cast<int64_t>(limit + 1));
  Page page;
  std::string last_cursor;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) {
    if (page.items.size() == limit) {
      page.next = std::move(last_cursor);
      break;
    }
    Record r;
    if (Status s = read_record(e, query, r); !s) return s;
    last_cursor = cursor_of(query, 3, r.id);
    page.items.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sql_error(db_, rc, "list");
  return page;
}

Result<std::vector<std::pair<std::string, uint64_t>>> Store::count_by(Entity e, const std::string& column,
                                                                      const ListQuery& q) {
  if (!valid_entity(static_cast<uint32_t>(e))) return invalid("unknown entity", "Type de fiche inconnu.");
  std::string expr;
  ValueKind kind = ValueKind::text;
  if (column == "centre_id") {
    expr = "t.centre_id";
  } else if (column == "agglomeration" && e == Entity::registration) {
    expr = "(SELECT c.agglomeration FROM centres c WHERE c.id = t.centre_id)";
  } else if (const FieldSpec* fs = field_spec(e, column); fs && !fs->personal) {
    expr = "t." + std::string(fs->name);  // a name from the field table, not the caller's string
    kind = fs->kind;
  } else {
    return invalid("cannot count by " + column, "Regroupement impossible : " + column + ".", column);
  }
  Where w;
  if (Status s = build_where(e, q, true, w); !s) return s;
  const std::string sql =
      "SELECT " + expr + " AS k, count(*) FROM " + std::string(spec(e).table) + " t" + w.sql + " GROUP BY k ORDER BY k";
  Status err;
  sqlite3_stmt* st = impl_->cache.get(sql, &err);
  if (!st) return err;
  Query query(st);
  bind_all(query, w.binds);
  std::vector<std::pair<std::string, uint64_t>> out;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) out.emplace_back(render_column(query, 0, kind), query.u64(1));
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "count");
  return out;
}

Status Store::for_each(Entity e, const ListQuery& q, const std::function<bool(const Record&)>& fn) {
  if (!valid_entity(static_cast<uint32_t>(e))) return invalid("unknown entity", "Type de fiche inconnu.");
  Where w;
  if (Status s = build_where(e, q, true, w); !s) return s;
  auto order = order_of(e, q.sort);
  if (!order) return order.status();
  const char* dir = order->desc ? " DESC" : "";
  const std::string sql = "SELECT t.id, t.centre_id, t.state FROM " + std::string(spec(e).table) + " t" + w.sql +
                          " ORDER BY " + order->expr + dir + ", t.id" + dir;
  // A statement of its own (not cached): fn may call back into the store.
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return sql_error(db_, rc, "export");
  }
  struct Finalize {
    sqlite3_stmt* s;
    ~Finalize() { sqlite3_finalize(s); }
  } fin{st};
  Query query(st);
  bind_all(query, w.binds);
  Record r;
  while ((rc = query.step()) == SQLITE_ROW) {
    if (Status s = read_record(e, query, r); !s) return s;
    if (!fn(r)) return Status::ok();
  }
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "export");
  return Status::ok();
}

Result<std::vector<Rejection>> Store::rejections(size_t limit) {
  std::vector<Rejection> out;
  Query q(impl_->rej_list);
  q.bind(1, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  int rc;
  while ((rc = q.step()) == SQLITE_ROW)
    out.push_back(Rejection{std::string(q.text(0)), q.u64(1), std::string(q.text(2)), std::string(q.text(3)),
                            std::string(q.text(4)), q.i64(5), std::string(q.text(6)), std::string(q.text(7))});
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "read rejections");
  return out;
}

Result<std::vector<std::pair<std::string, uint64_t>>> Store::rejections_by_origin() {
  Status err;
  sqlite3_stmt* st = impl_->cache.get("SELECT origin, count(*) FROM rejections GROUP BY origin ORDER BY origin", &err);
  if (!st) return err;
  Query q(st);
  std::vector<std::pair<std::string, uint64_t>> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.emplace_back(std::string(q.text(0)), q.u64(1));
  if (rc != SQLITE_DONE) return sql_error(db_, rc, "rejections by origin");
  return out;
}

}  // namespace terril
