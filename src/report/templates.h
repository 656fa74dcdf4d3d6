// The mstch templates of the model card (templates.cc). Internal to src/report.
#ifndef PLINTH_REPORT_TEMPLATES_H_
#define PLINTH_REPORT_TEMPLATES_H_

namespace plinth::report {

// Both read the view built by model_card.cc (CardView): scalars already "not recorded" when
// absent, lists empty when absent.
extern const char kCardMarkdownTemplate[];
extern const char kCardHtmlTemplate[];

}  // namespace plinth::report

#endif  // PLINTH_REPORT_TEMPLATES_H_
