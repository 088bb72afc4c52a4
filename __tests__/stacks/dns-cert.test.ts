import { resourcesOf, synthApp, fullConfigInput } from "../support/synth";

describe("dns-cert", () => {
  const app = synthApp();
  const stack = app.stacks["dns-cert"];
  const certificate = resourcesOf(stack, "aws_acm_certificate")[0][1];

  it("creates the certificate in us-east-1, the only region CloudFront takes certificates from", () => {
    expect(stack.provider?.aws).toEqual([expect.objectContaining({ region: "us-east-1" })]);
    expect(certificate.provider).toBeUndefined();
    expect(certificate).toMatchObject({
      domain_name: "cdn.example.com",
      subject_alternative_names: ["img.example.com"],
      validation_method: "DNS",
      lifecycle: { create_before_destroy: true },
    });
  });

  it("looks the zone up by name, and writes one validation record per name with for_each", () => {
    expect(stack.data?.aws_route53_zone?.zone).toMatchObject({ name: "example.com", private_zone: false });
    const records = resourcesOf(stack, "aws_route53_record");
    expect(records).toHaveLength(1);
    expect(records[0][1]).toMatchObject({
      for_each:
        "${{ for option in aws_acm_certificate.certificate.domain_validation_options : option.domain_name => option }}",
      name: "${each.value.resource_record_name}",
      type: "${each.value.resource_record_type}",
      records: ["${each.value.resource_record_value}"],
      zone_id: "${data.aws_route53_zone.zone.zone_id}",
      allow_overwrite: true,
    });
  });

  it("waits for validation, and hands out the validated certificate's ARN and the zone id", () => {
    const [[, validation]] = resourcesOf(stack, "aws_acm_certificate_validation");
    expect(validation).toEqual(
      expect.objectContaining({
        certificate_arn: "${aws_acm_certificate.certificate.arn}",
        validation_record_fqdns: "${[ for key, val in aws_route53_record.validation-record: val.fqdn]}",
      }),
    );
    expect(stack.output?.certificate_arn.value).toBe("${aws_acm_certificate_validation.validation.certificate_arn}");
    expect(stack.output?.hosted_zone_id.value).toBe("${data.aws_route53_zone.zone.zone_id}");
  });

  it("looks the zone up by id and adds the configured names in the full example", () => {
    const full = synthApp(fullConfigInput()).stacks["dns-cert"];
    expect(full.data?.aws_route53_zone?.zone).toMatchObject({ zone_id: "Z0123456789ABCDEFGHIJ" });
    expect(full.data?.aws_route53_zone?.zone.name).toBeUndefined();
    expect(resourcesOf(full, "aws_acm_certificate")[0][1]).toMatchObject({
      domain_name: "media.acme.example",
      // The image host names of the extra source buckets are on it too.
      subject_alternative_names: [
        "images.acme.example",
        "img-1.acme.example",
        "uploads-img.acme.example",
        "static.acme.example",
      ],
    });
  });
});
