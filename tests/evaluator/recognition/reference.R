# Independent reference for evaluator.recognition, computed with R's survey package.
#
#   cd tests/evaluator/recognition && Rscript reference.R
#
# Reads data/<county>_responses.csv and data/<county>_schools.csv (written by synth.py),
# applies the quality filters of docs/rules.md §6 itself, builds the design
#   svydesign(ids = ~cluster, strata = ~group, weights = ~w)
# (clusters = schools, each county-level respondent its own cluster, w = N_gs / n_gs) and
# writes data/<county>_r.csv with columns what,key,stat,value (17 significant digits).
# Nothing here uses the Python code or its output.

suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "fail")

approve <- c("满意", "比较满意", "基本满意")
dont_know <- c("不了解")
linked_groups <- c("student", "parent", "teacher", "principal")
min_cell <- 10
weights <- list(
  county_a = c(parent = 0.40, student = 0.20, teacher = 0.15, principal = 0.05,
               npc_deputy = 0.05, cppcc_member = 0.05, public = 0.10),
  county_b = c(parent = 0.5, student = 0.3, teacher = 0.2)
)

out <- data.frame(what = character(), key = character(), stat = character(), value = character())
put <- function(what, key, stat, value) {
  out[nrow(out) + 1, ] <<- list(what, key, stat, sprintf("%.17g", value))
}
logit_ci <- function(p, se, df) plogis(qlogis(p) + c(-1, 1) * qt(0.975, df) * se / (p * (1 - p)))

# per-respondent sums over a set of answer columns
sums <- function(A) {
  ans <- !is.na(A)
  list(a = rowSums(matrix(A %in% approve, nrow(A))),
       v = rowSums(ans & matrix(!(A %in% dont_know), nrow(A))),
       d = rowSums(matrix(A %in% dont_know, nrow(A))),
       t = rowSums(ans))
}

prepare <- function(resp, schools, filter) {
  items <- setdiff(names(resp), c("group", "school_code", "duration_seconds"))
  A <- as.matrix(resp[items])
  n_answered <- rowSums(!is.na(A))
  dur <- resp$duration_seconds
  straight <- apply(A, 1, function(r) { r <- r[!is.na(r)]; length(r) >= 2 && length(unique(r)) == 1 })
  speeder <- !is.na(dur) & dur < 30
  fast_sl <- !is.na(dur) & dur < 60 & straight & !speeder
  keep <- n_answered > 0
  if (filter) keep <- keep & !speeder & !fast_sl
  d <- resp[keep, ]
  A <- A[keep, , drop = FALSE]
  s <- sums(A)
  d$a <- s$a; d$v <- s$v; d$dk <- s$d; d$t <- s$t
  d$linked <- d$group %in% linked_groups
  idx <- match(d$school_code, schools$school_code)
  d$N <- ifelse(d$group %in% c("student", "parent"), schools$students[idx],
                ifelse(d$group == "teacher", schools$teachers[idx], 1))
  d$n_gs <- ave(rep(1, nrow(d)), d$group, ifelse(d$linked, d$school_code, ""), FUN = sum)
  d$w <- ifelse(d$linked, d$N / d$n_gs, 1)
  d$cluster <- ifelse(d$linked, paste(d$group, d$school_code), paste("r", seq_len(nrow(d))))
  list(d = d, A = A, items = items, dropped = c(speeder = sum(speeder), straightliner_fast = sum(fast_sl & !speeder & n_answered > 0)))
}

county_contrast <- function(des, W, num = ~a, den = ~v) {
  r <- svyby(num, ~group, des, svyratio, denominator = den, covmat = TRUE)
  groups <- as.character(r$group)
  w <- W[groups]; w <- w / sum(w)
  if (length(groups) == 1) {  # vcov.svyby needs two or more domains
    one <- svyratio(num, den, des)
    est <- list(coef = coef(one)[[1]], se = SE(one)[[1]])
  } else {
    con <- svycontrast(r, w)
    est <- list(coef = coef(con)[[1]], se = SE(con)[[1]])
  }
  list(by = r, groups = groups, est = est)
}

for (county in names(weights)) {
  resp <- read.csv(file.path("data", paste0(county, "_responses.csv")), stringsAsFactors = FALSE,
                   na.strings = "", encoding = "UTF-8", colClasses = c(school_code = "character"))
  resp$school_code[is.na(resp$school_code)] <- ""
  schools <- read.csv(file.path("data", paste0(county, "_schools.csv")), stringsAsFactors = FALSE)
  W <- weights[[county]]

  prep <- prepare(resp, schools, filter = TRUE)
  d <- prep$d[prep$d$group %in% names(W)[W > 0], ]
  A <- prep$A[prep$d$group %in% names(W)[W > 0], , drop = FALSE]
  put("county", "", "n_kept", nrow(prep$d))
  put("county", "", "speeder", prep$dropped["speeder"])
  put("county", "", "straightliner_fast", prep$dropped["straightliner_fast"])

  des <- svydesign(ids = ~cluster, strata = ~group, weights = ~w, data = d)
  df <- degf(des)
  cc <- county_contrast(des, W)
  dg <- svyby(~a, ~group, des, svyratio, denominator = ~v, deff = "replace")
  for (i in seq_len(nrow(dg))) put("group", as.character(dg$group[i]), "deff", dg$DEff[i])
  P <- cc$est$coef; se <- cc$est$se
  put("county", "", "score", P); put("county", "", "se", se); put("county", "", "df", df)
  ci <- logit_ci(P, se, df)
  put("county", "", "ci_lo", ci[1]); put("county", "", "ci_hi", ci[2])
  for (i in seq_along(cc$groups)) {
    g <- cc$groups[i]
    put("group", g, "score", coef(cc$by)[[i]]); put("group", g, "se", SE(cc$by)[[i]])
  }
  # 不了解 counted as not approving, and the weighted 不了解 rate
  asno <- county_contrast(des, W, ~a, ~t)
  put("county", "", "dont_know_as_no", asno$est$coef)
  put("as_no_policy", "", "score", asno$est$coef); put("as_no_policy", "", "se", asno$est$se)
  dk <- county_contrast(des, W, ~dk, ~t)
  put("county", "", "dont_know_rate", dk$est$coef)

  # items: domains of the full design (subset keeps the design), weights renormalised
  # over the weighted groups with valid answers to the item
  for (k in seq_along(prep$items)) {
    item <- prep$items[k]
    s <- sums(A[, k, drop = FALSE])
    dk_des <- update(des, ak = s$a, vk = s$v)
    asked <- names(which(tapply(s$v, d$group, sum) > 0))
    if (length(asked) == 0) next
    sub <- subset(dk_des, group %in% asked)
    ic <- county_contrast(sub, W, ~ak, ~vk)
    put("item", item, "score", ic$est$coef); put("item", item, "se", ic$est$se)
  }

  # schools: the full-design domain of a single cluster has SE 0; the reported SE is the
  # within-school design (respondents as units, strata = groups, fpc N_gs)
  options(survey.lonely.psu = "certainty")
  for (code in schools$school_code) {
    ds <- d[d$linked & d$school_code == code, ]
    if (nrow(ds) < min_cell) next
    valid <- names(which(tapply(ds$v, ds$group, sum) > 0))
    ds <- ds[ds$group %in% valid, ]
    if (nrow(ds) == 0) next
    sd <- svydesign(ids = ~1, strata = ~group, fpc = ~N, weights = ~w, data = ds)
    sc <- county_contrast(sd, W, ~a, ~v)
    put("school", code, "score", sc$est$coef); put("school", code, "se", sc$est$se)
    dom <- svyby(~a, ~group, subset(des, school_code == code & linked), svyratio, denominator = ~v)
    put("school", code, "full_design_domain_se_max", max(SE(dom)))
  }

  # census variant: schools as strata, respondents without replacement within them
  dc <- d
  dc$stratum <- ifelse(dc$linked, paste(dc$group, dc$school_code), dc$group)
  dc$fpcN <- ifelse(dc$linked, dc$N, 1e15)
  cdes <- svydesign(ids = ~1, strata = ~stratum, fpc = ~fpcN, weights = ~w, data = dc)
  cen <- county_contrast(cdes, W)
  put("census", "", "score", cen$est$coef); put("census", "", "se", cen$est$se)
  put("census", "", "df", degf(cdes))
  options(survey.lonely.psu = "fail")

  # without the quality filters
  prep0 <- prepare(resp, schools, filter = FALSE)
  d0 <- prep0$d[prep0$d$group %in% names(W)[W > 0], ]
  des0 <- svydesign(ids = ~cluster, strata = ~group, weights = ~w, data = d0)
  c0 <- county_contrast(des0, W)
  put("unfiltered", "", "score", c0$est$coef); put("unfiltered", "", "se", c0$est$se)
  put("unfiltered", "", "n", nrow(prep0$d))

  write.csv(out, file.path("data", paste0(county, "_r.csv")), row.names = FALSE, fileEncoding = "UTF-8")
  out <- out[0, ]
}
cat(R.version.string, "; survey", as.character(packageVersion("survey")), "\n")
