# Independent reference for item 1.9: enrolment-weighted CVs of a county, written from
# docs/rules.md §2 alone (split coefficients 1 : 1.1 : 1.32 and 1 : 1.2, 教学点 < 50 excluded).
# Usage: Rscript cv_reference.R schools.csv cv_reference.csv
args <- commandArgs(trailingOnly = TRUE)
s <- read.csv(args[1], stringsAsFactors = FALSE, fileEncoding = "UTF-8")
coef <- list("九年一贯制" = c(primary = 1, junior = 1.1),
             "十二年一贯制" = c(primary = 1, junior = 1.1, senior = 1.32),
             "完全中学" = c(junior = 1, senior = 1.2))
rows <- list()
for (i in seq_len(nrow(s))) {
  type <- s$school_type[i]
  if (type %in% names(coef)) {
    stages <- intersect(names(coef[[type]]), c("primary", "junior"))
  } else {
    stages <- if (type == "初中") "junior" else "primary"
  }
  for (st in stages) {
    P <- s[[paste0("students_", st)]][i]
    if (P <= 0 || (type == "教学点" && P < 50)) next
    share <- 1
    if (type %in% names(coef)) {
      cf <- coef[[type]]
      w <- sapply(names(cf), function(x) cf[[x]] * s[[paste0("students_", x)]][i])
      share <- w[[st]] / sum(w)
    }
    per100 <- function(col) 100 * s[[paste0(col, "_", st)]][i] / P
    rows[[length(rows) + 1]] <- data.frame(
      stage = st, P = P,
      qualified_teachers = per100("qualified_teachers"),
      backbone_teachers = per100("backbone_teachers"),
      pe_art_teachers = per100("pe_art_teachers"),
      teaching_area = s$teaching_area[i] * share / P,
      sports_area = s$sports_area[i] * share / P,
      equipment_value = s$equipment_value[i] * share / P,
      multimedia_rooms = 100 * s$multimedia_rooms[i] * share / P)
  }
}
d <- do.call(rbind, rows)
keys <- c("qualified_teachers", "backbone_teachers", "pe_art_teachers", "teaching_area",
          "sports_area", "equipment_value", "multimedia_rooms")
out <- data.frame()
for (st in c("primary", "junior")) {
  x <- d[d$stage == st, ]
  for (k in keys) {
    m <- weighted.mean(x[[k]], x$P)
    sdev <- sqrt(sum(x$P * (x[[k]] - m)^2) / sum(x$P))
    out <- rbind(out, data.frame(stage = st, indicator = k, n = nrow(x), cv = sprintf("%.17g", sdev / m)))
  }
}
write.csv(out, args[2], row.names = FALSE)
