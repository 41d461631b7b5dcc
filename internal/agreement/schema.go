/*
Copyright 2026 The Fivesafes Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package agreement

import (
	"context"
	"fmt"
	"strings"
	"sync"

	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structurallisttype "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/config/crd"
)

// Rule identifiers of findings from the CRD schema. OpenAPI findings are "schema." and the kind of
// error; findings from the CRD's x-kubernetes-validations (CEL) rules are RuleCEL.
const (
	RuleUnknownField = "schema.unknown-field"
	RuleCEL          = "schema.cel"
	ruleSchemaPrefix = "schema."
)

// SchemaValidator checks objects of one custom resource kind against its generated CRD the way the
// API server does on create, with the apiextensions-apiserver code the API server runs:
//
//  1. decoding: unknown fields are pruned (and reported, as with kubectl's default
//     --validate=strict), metadata is coerced, and status is dropped (it has its own subresource);
//  2. defaulting from the schema's defaults;
//  3. validation: type meta, object meta, the OpenAPI v3 schema (types, enums, formats, bounds,
//     patterns), list-type set and map uniqueness, and then the x-kubernetes-validations CEL rules
//     (which the API server skips, with a note, when the object has type, enum, required or size
//     errors), within the API server's CEL cost budget.
//
// Unlike the API server, which stops at unknown fields under strict field validation, it goes on
// and reports every other finding too. It is safe for concurrent use.
type SchemaValidator struct {
	kind       schema.GroupVersionKind
	namespaced bool
	structural *structuralschema.Structural
	openAPI    apiservervalidation.SchemaValidator
	cel        *cel.Validator
}

// NewSchemaValidator builds a validator from a CRD manifest (YAML or JSON) for its storage version.
func NewSchemaValidator(crdManifest []byte) (*SchemaValidator, error) {
	var def apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(crdManifest, &def); err != nil {
		return nil, fmt.Errorf("reading CRD: %w", err)
	}
	var version *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range def.Spec.Versions {
		if def.Spec.Versions[i].Storage {
			version = &def.Spec.Versions[i]
		}
	}
	if version == nil || version.Schema == nil || version.Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("CRD %s has no storage version with a schema", def.Name)
	}
	var internal apiextensionsinternal.CustomResourceValidation
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(version.Schema, &internal, nil); err != nil {
		return nil, fmt.Errorf("converting the schema of CRD %s: %w", def.Name, err)
	}
	s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("CRD %s has no structural schema: %w", def.Name, err)
	}
	if errs := structuralschema.ValidateStructural(nil, s); len(errs) > 0 {
		return nil, fmt.Errorf("CRD %s has no structural schema: %w", def.Name, errs.ToAggregate())
	}
	// As the API server does: work on a copy with defaults pruned of unknown fields.
	s = s.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, fmt.Errorf("pruning the defaults of CRD %s: %w", def.Name, err)
	}
	openAPI, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("building the OpenAPI validator of CRD %s: %w", def.Name, err)
	}
	return &SchemaValidator{
		kind:       schema.GroupVersionKind{Group: def.Spec.Group, Version: version.Name, Kind: def.Spec.Names.Kind},
		namespaced: def.Spec.Scope == apiextensionsv1.NamespaceScoped,
		structural: s,
		openAPI:    openAPI,
		cel:        cel.NewValidator(s, true, celconfig.PerCallLimit),
	}, nil
}

// Kind is the group, version and kind the validator checks.
func (v *SchemaValidator) Kind() schema.GroupVersionKind { return v.kind }

// Admit decodes, defaults and validates obj (an object as decoded from YAML or JSON) as the API
// server would on create. It changes obj in place into what the API server would store, and
// returns every finding, sorted by field, each with the path of the offending field (e.g.
// spec.validity, or metadata.name). An object of another kind gets only findings about its apiVersion and kind.
func (v *SchemaValidator) Admit(ctx context.Context, obj map[string]any) []fivesafesv1alpha1.Finding {
	u := &unstructured.Unstructured{Object: obj}
	if errs := v.validateTypeMeta(u); len(errs) > 0 {
		return toFindings(errs, ruleSchemaPrefix)
	}

	var findings []fivesafesv1alpha1.Finding
	unknown, errs := v.decode(u)
	for _, p := range unknown {
		findings = append(findings, fivesafesv1alpha1.Finding{
			Field:   p,
			Rule:    RuleUnknownField,
			Message: fmt.Sprintf("unknown field %q: the %s schema has no such field", p, v.kind.Kind),
		})
	}
	findings = append(findings, toFindings(errs, ruleSchemaPrefix)...)
	if len(errs) > 0 {
		SortFindings(findings)
		return findings
	}

	delete(obj, "status")
	structuraldefaulting.Default(obj, v.structural)

	// The order and the rules of customResourceStrategy.Validate.
	var schemaErrs field.ErrorList
	schemaErrs = append(schemaErrs, metavalidation.ValidateObjectMetaAccessor(u, v.namespaced, metavalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	schemaErrs = append(schemaErrs, apiservervalidation.ValidateCustomResource(nil, obj, v.openAPI)...)
	schemaErrs = append(schemaErrs, schemaobjectmeta.Validate(nil, obj, v.structural, false)...)
	schemaErrs = append(schemaErrs, structurallisttype.ValidateListSetsAndMaps(nil, v.structural, obj)...)
	findings = append(findings, toFindings(schemaErrs, ruleSchemaPrefix)...)

	if blocked, note := hasBlockingErr(schemaErrs); blocked {
		findings = append(findings, fivesafesv1alpha1.Finding{Rule: RuleCEL, Message: note})
	} else {
		celErrs, _ := v.cel.Validate(ctx, nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		findings = append(findings, toFindings(celErrs, RuleCEL)...)
	}
	// The OpenAPI validator reports in map order; sort for output that is the same every time.
	SortFindings(findings)
	return findings
}

func (v *SchemaValidator) validateTypeMeta(u *unstructured.Unstructured) field.ErrorList {
	var errs field.ErrorList
	if k := u.GetKind(); k != v.kind.Kind {
		errs = append(errs, field.Invalid(field.NewPath("kind"), k, "must be "+v.kind.Kind))
	}
	if gv := u.GetAPIVersion(); gv != v.kind.GroupVersion().String() {
		errs = append(errs, field.Invalid(field.NewPath("apiVersion"), gv, "must be "+v.kind.GroupVersion().String()))
	}
	return errs
}

// decode does what the API server's decoder does to a custom resource (unstructuredSchemaCoercer):
// it reads the metadata, prunes unknown fields and nulls, coerces embedded metadata, and writes the
// metadata back clean. It returns the paths of the unknown fields, and errors for malformed
// metadata.
func (v *SchemaValidator) decode(u *unstructured.Unstructured) ([]string, field.ErrorList) {
	obj := u.Object
	kind, apiVersion := u.GetKind(), u.GetAPIVersion()
	meta, hasMeta, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(obj, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return unknown, field.ErrorList{field.Invalid(field.NewPath("metadata"), nil, err.Error())}
	}
	unknown = append(unknown, structuralpruning.PruneWithOptions(obj, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj, v.structural)
	ferr, paths := schemaobjectmeta.CoerceWithOptions(nil, obj, v.structural, false, schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	unknown = append(unknown, paths...)
	if ferr != nil {
		return unknown, field.ErrorList{ferr}
	}
	u.SetKind(kind)
	u.SetAPIVersion(apiVersion)
	if hasMeta {
		if err := schemaobjectmeta.SetObjectMeta(obj, meta); err != nil {
			return unknown, field.ErrorList{field.Invalid(field.NewPath("metadata"), nil, err.Error())}
		}
	}
	return unknown, nil
}

// hasBlockingErr mirrors the API server: CEL rules are not run on an object with errors that make
// their input untrustworthy.
func hasBlockingErr(errs field.ErrorList) (bool, string) {
	for _, e := range errs {
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true, "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
		}
	}
	return false, ""
}

// errorRules names field error types as rule identifiers.
var errorRules = map[field.ErrorType]string{
	field.ErrorTypeNotFound:     "not-found",
	field.ErrorTypeRequired:     "required",
	field.ErrorTypeDuplicate:    "duplicate",
	field.ErrorTypeInvalid:      "invalid",
	field.ErrorTypeNotSupported: "unsupported-value",
	field.ErrorTypeForbidden:    "forbidden",
	field.ErrorTypeTooLong:      "too-long",
	field.ErrorTypeTooMany:      "too-many",
	field.ErrorTypeInternal:     "internal",
	field.ErrorTypeTypeInvalid:  "wrong-type",
}

// toFindings turns field errors into findings. With the "schema." prefix the rule is the prefix and
// the kind of error; any other prefix is the rule itself.
func toFindings(errs field.ErrorList, rule string) []fivesafesv1alpha1.Finding {
	fs := make([]fivesafesv1alpha1.Finding, 0, len(errs))
	for _, e := range errs {
		r := rule
		if rule == ruleSchemaPrefix {
			name, ok := errorRules[e.Type]
			if !ok {
				name = strings.ToLower(string(e.Type))
			}
			r = rule + name
		}
		msg := e.ErrorBody()
		if rule == RuleCEL && e.Detail != "" {
			msg = e.Detail // the rule's own message, as the CRD author wrote it
		}
		path := e.Field
		if path == "<nil>" { // an error about the object as a whole
			path = ""
		}
		fs = append(fs, fivesafesv1alpha1.Finding{Field: path, Rule: r, Message: msg})
	}
	return fs
}

var (
	agreementSchemaOnce sync.Once
	agreementSchema     *SchemaValidator
	agreementSchemaErr  error

	datasetSchemaOnce sync.Once
	datasetSchema     *SchemaValidator
	datasetSchemaErr  error
)

// Schema returns the validator of the built-in DataAccessAgreement CRD.
func Schema() (*SchemaValidator, error) {
	agreementSchemaOnce.Do(func() {
		agreementSchema, agreementSchemaErr = builtinSchema("dataaccessagreements")
	})
	return agreementSchema, agreementSchemaErr
}

// DatasetSchema returns the validator of the built-in Dataset CRD.
func DatasetSchema() (*SchemaValidator, error) {
	datasetSchemaOnce.Do(func() {
		datasetSchema, datasetSchemaErr = builtinSchema("datasets")
	})
	return datasetSchema, datasetSchemaErr
}

func builtinSchema(plural string) (*SchemaValidator, error) {
	b, err := crd.Read(plural)
	if err != nil {
		return nil, err
	}
	return NewSchemaValidator(b)
}
