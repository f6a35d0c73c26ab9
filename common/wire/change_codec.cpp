// Change <-> terril.v1.Change, and the change bytes the stores keep (see change_codec.h).
#include "common/wire/change_codec.h"

#include "common/core/ids.h"
#include "common/core/validate.h"
#include "common/wire/errors.h"
#include "terril/v1/sync.pb.h"

namespace terril::wire {

static_assert(static_cast<int>(Entity::centre) == v1::ENTITY_CENTRE);
static_assert(static_cast<int>(Entity::prototype_note) == v1::ENTITY_PROTOTYPE_NOTE);
static_assert(static_cast<int>(Op::upsert) == v1::OP_UPSERT);
static_assert(static_cast<int>(Op::erase) == v1::OP_ERASE);

void to_wire(const Change& c, v1::Change& out) {
  out.Clear();
  out.set_origin(c.origin);
  out.set_origin_seq(c.origin_seq);
  out.set_hlc(c.hlc);
  out.set_entity(static_cast<v1::Entity>(c.entity));
  if (c.entity == Entity::centre) {
    out.set_record_id(c.record_id);
  } else if (auto b = uuid_to_bytes(c.record_id)) {
    out.set_record_id(*b);
  } else {
    out.set_record_id(c.record_id);  // invalid; the receiver will refuse it
  }
  out.set_op(static_cast<v1::Op>(c.op));
  out.set_centre_id(c.centre_id);
  for (const auto& fv : c.fields) {
    auto* f = out.add_fields();
    f->set_field(static_cast<uint32_t>(fv.field));
    switch (fv.value.index()) {
      case 0:
        f->set_null(true);
        break;
      case 1:
        f->set_integer(std::get<int64_t>(fv.value));
        break;
      case 2:
        f->set_boolean(std::get<bool>(fv.value));
        break;
      case 3: {
        const auto& text = std::get<std::string>(fv.value);
        // UUID-valued fields travel as 16 bytes instead of 36 characters.
        if (fv.field == Field::event_id) {
          if (auto b = uuid_to_bytes(text)) {
            f->set_uuid(*b);
            break;
          }
        }
        f->set_text(text);
        break;
      }
    }
  }
}

Change from_wire_lenient(const v1::Change& in) {
  Change c;
  c.origin = in.origin();
  c.origin_seq = in.origin_seq();
  c.hlc = in.hlc();
  c.centre_id = in.centre_id();
  auto cannot = [&](const char* why) {
    c.undecodable = why;
    return c;
  };
  if (!valid_entity(static_cast<uint32_t>(in.entity()))) return cannot("unknown entity");
  c.entity = static_cast<Entity>(in.entity());
  if (c.entity == Entity::centre) {
    c.record_id = in.record_id();
  } else if (auto t = uuid_from_bytes(in.record_id())) {
    c.record_id = *t;
  } else {
    return cannot("record id is not 16 bytes");
  }
  if (in.op() < v1::OP_UPSERT || in.op() > v1::OP_ERASE) return cannot("unknown op");
  c.op = static_cast<Op>(in.op());
  c.fields.reserve(static_cast<size_t>(in.fields_size()));
  for (const auto& f : in.fields()) {
    if (f.field() == 0 || f.field() > 0xFFFF) return cannot("bad field number");
    FieldValue fv{static_cast<Field>(f.field()), {}};
    switch (f.value_case()) {
      case v1::FieldValue::kText:
        fv.value = f.text();
        break;
      case v1::FieldValue::kInteger:
        fv.value = static_cast<int64_t>(f.integer());
        break;
      case v1::FieldValue::kBoolean:
        fv.value = f.boolean();
        break;
      case v1::FieldValue::kNull:
        break;
      case v1::FieldValue::kUuid: {
        auto t = uuid_from_bytes(f.uuid());
        if (!t) return cannot("uuid value is not 16 bytes");
        fv.value = *t;
        break;
      }
      case v1::FieldValue::VALUE_NOT_SET:
        return cannot("field without value");
    }
    c.fields.push_back(std::move(fv));
  }
  return c;
}

Result<Change> from_wire(const v1::Change& in) {
  Change c = from_wire_lenient(in);
  if (!c.undecodable.empty()) return malformed(c.undecodable);
  if (Status s = validate_change(c); !s) return s;
  return c;
}

std::string encode_change(const Change& c) {
  v1::Change w;
  to_wire(c, w);
  return w.SerializeAsString();
}

Result<Change> decode_change(std::string_view bytes) {
  v1::Change w;
  if (!w.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return malformed("change does not parse");
  return from_wire(w);
}

}  // namespace terril::wire
