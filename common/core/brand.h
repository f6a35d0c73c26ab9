// The operation's name and the FEDER publicity sentence: the one source for
// every page, printed sheet and export of both daemons. The web UIs get them
// at build time (cmake/embed.cmake substitutes {{OPERATION_NAME}},
// {{FEDER_SENTENCE}} and {{FEDER_CAPTION}} in the embedded assets from this
// file), the C++ exports and pages include this header.
//
// The sentence is a legal publicity requirement of the FEDER call for tender:
// change it only with the funders' wording.
#pragma once

#include <string_view>

namespace terril {

inline constexpr std::string_view kOperationName = "Centres sociaux connectés du bassin minier";
inline constexpr std::string_view kFederSentence =
    "L'opération « Centres sociaux connectés du bassin minier » est cofinancée par le FEDER dans le cadre du "
    "programme opérationnel FEDER 2014-2020 pour la Région Hauts-de-France.";
inline constexpr std::string_view kFederCaption = "Union européenne — Fonds européen de développement régional (FEDER)";

}  // namespace terril
