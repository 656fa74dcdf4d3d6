// The model card's templates. {{ }} is escaped for the output format (Markdown or HTML); the
// card uses {{{ }}} only for the module's own stylesheet: its images are data URIs placed in an
// <img> attribute, so a card
// handed in from elsewhere cannot inject markup.
#include "report/templates.h"

namespace plinth::report {

const char kCardMarkdownTemplate[] = R"md(# Model card: {{name}}

## Model details

- **Name:** {{name}}
- **Version:** {{version_name}}
- **Version date:** {{version_date}}
- **Changes:** {{version_diff}}
- **Overview:** {{overview}}
- **Documentation:** {{documentation}}
- **Path:** {{path}}
- **Regulatory requirements:** {{regulatory_requirements}}

### Owners

{{#owners}}
- {{name}} ({{contact}})
{{/owners}}
{{^owners}}
not recorded
{{/owners}}

### Licenses, references and citations

{{#licenses}}
- License: {{text}}
{{/licenses}}
{{#references}}
- Reference: {{text}}
{{/references}}
{{#citations}}
- Citation: {{text}}
{{/citations}}
{{^has_sources}}
not recorded
{{/has_sources}}

## Model parameters

- **Architecture:** {{model_architecture}}
- **Input format:** {{input_format}}
- **Output format:** {{output_format}}

### Data

{{#has_data}}
| Data set | Link | Sensitive attributes |
| --- | --- | --- |
{{/has_data}}
{{#data}}
| {{name}} | {{link}} | {{sensitive}} |
{{/data}}
{{^data}}
not recorded
{{/data}}

## Intended use

### Users

{{#users}}
- {{description}}
{{/users}}
{{^users}}
not recorded
{{/users}}

### Use cases

{{#use_cases}}
- {{description}}
{{/use_cases}}
{{^use_cases}}
not recorded
{{/use_cases}}

## Limitations

{{#limitations}}
- {{description}}
{{/limitations}}
{{^limitations}}
not recorded
{{/limitations}}

### Trade-offs

{{#tradeoffs}}
- {{description}}
{{/tradeoffs}}
{{^tradeoffs}}
not recorded
{{/tradeoffs}}

## Performance

{{#has_metrics}}
| Metric | Value | Confidence interval |
| --- | ---: | --- |
{{/has_metrics}}
{{#metrics}}
| {{type}} | {{value}} | {{interval}} |
{{/metrics}}
{{^metrics}}
not recorded
{{/metrics}}
{{#has_graphics}}

Plots ({{graphics_description}}):
{{/has_graphics}}
{{#graphics}}
- {{name}}
{{/graphics}}

## Fairness

{{#has_fairness}}
| Slice | Metric | Value |
| --- | --- | ---: |
{{/has_fairness}}
{{#fairness}}
| {{slice}} | {{type}} | {{value}} |
{{/fairness}}
{{^fairness}}
not recorded
{{/fairness}}
{{#fairness_assessment}}
- Group at risk: {{group_at_risk}}. Mitigation: {{mitigation_strategy}}
{{/fairness_assessment}}

## Ethical considerations

{{#ethical}}
- **{{name}}:** {{mitigation_strategy}}
{{/ethical}}
{{^ethical}}
not recorded
{{/ethical}}

## Completeness

{{#complete}}
All required fields are recorded.
{{/complete}}
{{^complete}}
Missing or empty:
{{#missing}}
- {{path}}
{{/missing}}
{{/complete}}
)md";

const char kCardHtmlTemplate[] = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Model card: {{name}}</title>
<style>{{{style}}}</style>
</head>
<body>
<h1>Model card: {{name}}</h1>
<p class="meta">version {{version_name}}, {{version_date}}</p>
<section>
<h2 id="model-details">Model details</h2>
<table>
<tr><th>Name</th><td>{{name}}</td></tr>
<tr><th>Version</th><td>{{version_name}}</td></tr>
<tr><th>Version date</th><td>{{version_date}}</td></tr>
<tr><th>Changes</th><td>{{version_diff}}</td></tr>
<tr><th>Overview</th><td>{{overview}}</td></tr>
<tr><th>Documentation</th><td>{{documentation}}</td></tr>
<tr><th>Path</th><td><code>{{path}}</code></td></tr>
<tr><th>Regulatory requirements</th><td>{{regulatory_requirements}}</td></tr>
<tr><th>Owners</th><td>{{#owners}}{{name}} ({{contact}})<br>{{/owners}}{{^owners}}<span class="missing">not recorded</span>{{/owners}}</td></tr>
<tr><th>Licenses</th><td>{{#licenses}}{{text}}<br>{{/licenses}}{{^licenses}}<span class="missing">not recorded</span>{{/licenses}}</td></tr>
<tr><th>References</th><td>{{#references}}{{text}}<br>{{/references}}{{^references}}<span class="missing">not recorded</span>{{/references}}</td></tr>
<tr><th>Citations</th><td>{{#citations}}{{text}}<br>{{/citations}}{{^citations}}<span class="missing">not recorded</span>{{/citations}}</td></tr>
</table>
</section>
<section>
<h2 id="model-parameters">Model parameters</h2>
<table>
<tr><th>Architecture</th><td>{{model_architecture}}</td></tr>
<tr><th>Input format</th><td>{{input_format}}</td></tr>
<tr><th>Output format</th><td>{{output_format}}</td></tr>
</table>
<h3>Data</h3>
{{#has_data}}
<table>
<tr><th>Data set</th><th>Link</th><th>Sensitive attributes</th></tr>
{{/has_data}}
{{#data}}
<tr><td>{{name}}</td><td><code>{{link}}</code></td><td>{{sensitive}}</td></tr>
{{/data}}
{{#has_data}}
</table>
{{/has_data}}
{{^data}}
<p class="missing">not recorded</p>
{{/data}}
</section>
<section>
<h2 id="intended-use">Intended use</h2>
<h3>Users</h3>
{{#has_users}}<ul>{{/has_users}}{{#users}}<li>{{description}}</li>{{/users}}{{#has_users}}</ul>{{/has_users}}
{{^users}}<p class="missing">not recorded</p>{{/users}}
<h3>Use cases</h3>
{{#has_use_cases}}<ul>{{/has_use_cases}}{{#use_cases}}<li>{{description}}</li>{{/use_cases}}{{#has_use_cases}}</ul>{{/has_use_cases}}
{{^use_cases}}<p class="missing">not recorded</p>{{/use_cases}}
</section>
<section>
<h2 id="limitations">Limitations</h2>
{{#has_limitations}}<ul>{{/has_limitations}}{{#limitations}}<li>{{description}}</li>{{/limitations}}{{#has_limitations}}</ul>{{/has_limitations}}
{{^limitations}}<p class="missing">not recorded</p>{{/limitations}}
<h3>Trade-offs</h3>
{{#has_tradeoffs}}<ul>{{/has_tradeoffs}}{{#tradeoffs}}<li>{{description}}</li>{{/tradeoffs}}{{#has_tradeoffs}}</ul>{{/has_tradeoffs}}
{{^tradeoffs}}<p class="missing">not recorded</p>{{/tradeoffs}}
</section>
<section>
<h2 id="performance">Performance</h2>
{{#has_metrics}}
<table>
<tr><th>Metric</th><th>Value</th><th>Confidence interval</th></tr>
{{/has_metrics}}
{{#metrics}}
<tr><td>{{type}}</td><td class="num">{{value}}</td><td>{{interval}}</td></tr>
{{/metrics}}
{{#has_metrics}}
</table>
{{/has_metrics}}
{{^metrics}}
<p class="missing">not recorded</p>
{{/metrics}}
{{#has_graphics}}
<p>{{graphics_description}}</p>
<div class="plots">
{{/has_graphics}}
{{#graphics}}
<figure><img src="{{image}}" alt="{{name}}"><figcaption>{{name}}</figcaption></figure>
{{/graphics}}
{{#has_graphics}}
</div>
{{/has_graphics}}
</section>
<section>
<h2 id="fairness">Fairness</h2>
{{#has_fairness}}
<table>
<tr><th>Slice</th><th>Metric</th><th>Value</th></tr>
{{/has_fairness}}
{{#fairness}}
<tr><td>{{slice}}</td><td>{{type}}</td><td class="num">{{value}}</td></tr>
{{/fairness}}
{{#has_fairness}}
</table>
{{/has_fairness}}
{{^fairness}}
<p class="missing">not recorded</p>
{{/fairness}}
{{#has_fairness_assessment}}<ul>{{/has_fairness_assessment}}{{#fairness_assessment}}<li>Group at risk: {{group_at_risk}}. Mitigation: {{mitigation_strategy}}</li>{{/fairness_assessment}}{{#has_fairness_assessment}}</ul>{{/has_fairness_assessment}}
</section>
<section>
<h2 id="ethical-considerations">Ethical considerations</h2>
{{#has_ethical}}
<table>
<tr><th>Risk</th><th>Mitigation strategy</th></tr>
{{/has_ethical}}
{{#ethical}}
<tr><td>{{name}}</td><td>{{mitigation_strategy}}</td></tr>
{{/ethical}}
{{#has_ethical}}
</table>
{{/has_ethical}}
{{^ethical}}
<p class="missing">not recorded</p>
{{/ethical}}
</section>
<section>
<h2 id="completeness">Completeness</h2>
{{#complete}}
<p class="verdict PASS">All required fields are recorded.</p>
{{/complete}}
{{^complete}}
<p class="verdict FAIL">Missing or empty:</p>
<ul>
{{#missing}}
<li><code>{{path}}</code></li>
{{/missing}}
</ul>
{{/complete}}
</section>
</body>
</html>
)html";

}  // namespace plinth::report
