// Routing and permissions of changes (see routing.h). Pure.
#include "common/core/routing.h"

#include "common/core/seats.h"
#include "common/core/validate.h"

namespace terril {

Audience route(Entity e, std::string_view owner_centre, std::string_view host_centre) {
  Audience a;
  if (e != Entity::registration) {
    a.everyone = true;
    return a;
  }
  a.owner_centre = owner_centre;
  if (host_centre != owner_centre) a.host_centre = host_centre;
  return a;
}

namespace {
Status forbidden(std::string en, std::string fr) {
  return Status(Code::forbidden, std::move(en), {}, std::move(fr));
}
}  // namespace

Status check_node_change(const PermissionContext& ctx, const Change& c) {
  if (c.origin != ctx.node_id)
    return forbidden("origin is not the authenticated node", "Modification refusée : elle ne vient pas de ce poste.");
  const std::string& owner = ctx.existing ? ctx.existing->centre_id : c.centre_id;
  if (ctx.existing && c.centre_id != ctx.existing->centre_id)
    return forbidden("change claims another owner centre than the record's",
                     "Modification refusée : le centre propriétaire ne correspond pas.");
  // As strict as the APIs (L9): a centre is removed only by the hub admin,
  // and a record a node creates has every required field.
  if (c.entity == Entity::centre && c.op == Op::del)
    return forbidden("a node may not delete a centre",
                     "Modification refusée : seul l'administrateur du hub peut supprimer un centre.");
  if (owner == ctx.node_centre) {
    if (c.entity == Entity::registration)
      if (Status s = seats::check_seat_fields(c, ctx.node_centre, owner, ctx.event_host_centre); !s) return s;
    if (!ctx.existing && c.op == Op::upsert) {
      Status v = validate_new_record(c.entity, c.fields);
      if (!v) return Status(Code::invalid, v.message(), v.field(), "Modification refusée : " + v.message_fr());
    }
    return Status::ok();
  }
  if (c.entity == Entity::registration && !ctx.event_host_centre.empty() && ctx.event_host_centre == ctx.node_centre &&
      ctx.existing && c.op == Op::upsert && !c.fields.empty()) {
    bool host_fields = true;
    for (const auto& fv : c.fields)
      host_fields = host_fields && (fv.field == Field::attended || fv.field == Field::seat ||
                                    fv.field == Field::seat_by || fv.field == Field::seat_event);
    if (host_fields) return seats::check_seat_fields(c, ctx.node_centre, owner, ctx.event_host_centre);
    return forbidden("host centre may change only `attended` and `seat` of another centre's registration",
                     "Modification refusée : le centre qui accueille l'événement ne peut modifier "
                     "que la présence et la place d'une inscription d'un autre centre.");
  }
  return forbidden("record belongs to another centre",
                   "Modification refusée : cette fiche appartient à un autre centre.");
}

}  // namespace terril
