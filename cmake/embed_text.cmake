# Embeds one text file as a C++ function returning std::string_view.
# -DIN=file -DOUT=file.cpp -DNAME=function_name
file(READ ${IN} content)
file(WRITE ${OUT}.tmp "// Generated from ${IN}. Do not edit.\n#include <string_view>\nnamespace terril {\nstd::string_view ${NAME}() {\n  static constexpr char k[] = R\"terriltext(${content})terriltext\";\n  return {k, sizeof k - 1};\n}\n}  // namespace terril\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
