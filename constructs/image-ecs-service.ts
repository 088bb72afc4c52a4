import { AppautoscalingPolicy } from "@cdktf/provider-aws/lib/appautoscaling-policy";
import { AppautoscalingTarget } from "@cdktf/provider-aws/lib/appautoscaling-target";
import { CloudfrontVpcOrigin } from "@cdktf/provider-aws/lib/cloudfront-vpc-origin";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DataAwsEc2ManagedPrefixList } from "@cdktf/provider-aws/lib/data-aws-ec2-managed-prefix-list";
import { EcrLifecyclePolicy } from "@cdktf/provider-aws/lib/ecr-lifecycle-policy";
import { EcrRepository } from "@cdktf/provider-aws/lib/ecr-repository";
import { EcsCluster } from "@cdktf/provider-aws/lib/ecs-cluster";
import { EcsService } from "@cdktf/provider-aws/lib/ecs-service";
import { EcsTaskDefinition } from "@cdktf/provider-aws/lib/ecs-task-definition";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { Lb } from "@cdktf/provider-aws/lib/lb";
import { LbListener } from "@cdktf/provider-aws/lib/lb-listener";
import { LbTargetGroup } from "@cdktf/provider-aws/lib/lb-target-group";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Construct } from "constructs";
import { CLOUDFRONT_ORIGIN_TLS_PROTOCOL } from "../config/aws-facts";
import {
  ALB_IDLE_TIMEOUT_SECONDS,
  ENGINE_HEALTH_PATH,
  ENGINE_PORT,
  SERVER_ENVIRONMENT,
} from "../functions/image/environment";
import { assumeRolePolicy, policyDocument, type PolicyStatement } from "../aws/iam";
import { engineEnvironment, engineReadStatements, type EngineSettings } from "./image-engine-settings";
import { ImageNetwork, type ImageServiceSubnets } from "./image-network";
import { Partition } from "../aws/partition";

/**
 * AWS-managed prefix list of the addresses CloudFront connects to origins from, VPC origins
 * included (the rule AWS documents for a VPC origin's security group).
 */
export const CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing";
export const ENGINE_CONTAINER_NAME = "engine";
/** Tagged images kept in the repository (older ones expire; untagged ones after a day). */
export const KEPT_IMAGE_COUNT = 30;
const LISTENER_PORT = 80;
const SCALE_OUT_COOLDOWN_SECONDS = 60;
const SCALE_IN_COOLDOWN_SECONDS = 300;
/** The server drains in-flight requests on SIGTERM; the target group waits as long. */
const DRAIN_SECONDS = 30;
/** Container health check: node is in the image, curl may not be. */
const HEALTH_CHECK_COMMAND = `node -e "fetch('http://127.0.0.1:${ENGINE_PORT}${ENGINE_HEALTH_PATH}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"`;

export interface ImageEcsServiceProps extends EngineSettings {
  /** Names the repository, cluster, service, load balancer (shortened to 32 characters) and roles. */
  readonly name: string;
  readonly region: string;
  readonly styleTableArn: string;
  /** CPU units of a task (a Fargate size, validated with `memory` by the config). */
  readonly cpu: number;
  /** Memory of a task in MiB. */
  readonly memory: number;
  readonly desiredCount: number;
  readonly minCount: number;
  readonly maxCount: number;
  readonly targetCpuPercent: number;
  /**
   * The image to run.
   * @default the repository's URL at `imageTag`
   */
  readonly imageUri?: string;
  /** The tag `npm run image:push` pushes: the engine's source hash. */
  readonly imageTag: string;
  /** @default a VPC created by ImageNetwork */
  readonly subnets?: ImageServiceSubnets;
  readonly logRetentionDays: number;
}

/**
 * The image engine on ECS Fargate (arm64) behind an internal ALB in private subnets, which
 * CloudFront reaches through a VPC origin: the load balancer has no public address, so nothing on
 * the internet can reach it, and no shared secret is needed. Its security group admits CloudFront's
 * origin-facing addresses only (the managed prefix list). CloudFront talks HTTP to the ALB inside
 * AWS's network (an internal ALB's name can carry no public certificate). The service scales on CPU.
 */
export class ImageEcsService extends Construct {
  readonly repository: EcrRepository;
  readonly imageUri: string;
  readonly cluster: EcsCluster;
  readonly taskDefinition: EcsTaskDefinition;
  readonly service: EcsService;
  readonly loadBalancer: Lb;
  readonly taskRole: IamRole;
  readonly executionRole: IamRole;
  /** The ALB's DNS name: the distributions' origin domain. */
  readonly originDomainName: string;
  /** CloudFront's way into the VPC to the ALB, shared by every image distribution. */
  readonly vpcOrigin: CloudfrontVpcOrigin;

  constructor(scope: Construct, id: string, props: ImageEcsServiceProps) {
    super(scope, id);
    const { name } = props;
    const shortName = name.slice(0, 32).replace(/-+$/, "");
    const subnets = props.subnets ?? new ImageNetwork(this, "network", { name, region: props.region }).subnets;

    this.repository = new EcrRepository(this, "repository", {
      name,
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: [{ encryptionType: "AES256" }],
    });
    new EcrLifecyclePolicy(this, "repository-lifecycle", {
      repository: this.repository.name,
      policy: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: "untagged layers of interrupted pushes",
            selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 },
            action: { type: "expire" },
          },
          {
            rulePriority: 2,
            description: `keep the ${KEPT_IMAGE_COUNT} newest images`,
            selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: KEPT_IMAGE_COUNT },
            action: { type: "expire" },
          },
        ],
      }),
    });
    this.imageUri = props.imageUri ?? `${this.repository.repositoryUrl}:${props.imageTag}`;

    const logGroup = new CloudwatchLogGroup(this, "logs", {
      name: `/ecs/${name}`,
      retentionInDays: props.logRetentionDays,
    });

    this.executionRole = new IamRole(this, "execution-role", {
      name: `${name}-execution`,
      description: "s3-edge: ECS pulls the image engine and writes its logs",
      assumeRolePolicy: assumeRolePolicy([Partition.of(this).servicePrincipal("ecs-tasks")]),
    });
    new IamRolePolicy(this, "execution-policy", {
      name: "pull-and-log",
      role: this.executionRole.id,
      policy: policyDocument([
        { Sid: "RegistryToken", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
        ...this.pullStatements(props.imageUri),
        {
          Sid: "WriteLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `${logGroup.arn}:*`,
        },
      ]),
    });
    this.taskRole = new IamRole(this, "task-role", {
      name: `${name}-task`,
      description: "s3-edge: the image engine reads source objects and styles",
      assumeRolePolicy: assumeRolePolicy([Partition.of(this).servicePrincipal("ecs-tasks")]),
    });
    new IamRolePolicy(this, "task-policy", {
      name: "read-sources",
      role: this.taskRole.id,
      policy: policyDocument(engineReadStatements(Partition.of(this), props.sourceBuckets, props.styleTableArn)),
    });

    // POWERTOOLS_SERVICE_NAME: the `service` dimension of the server's figures (functions/shared/metrics.ts).
    const environment = {
      ...engineEnvironment(props),
      [SERVER_ENVIRONMENT.port]: String(ENGINE_PORT),
      POWERTOOLS_SERVICE_NAME: name,
    };
    this.taskDefinition = new EcsTaskDefinition(this, "task", {
      family: name,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: String(props.cpu),
      memory: String(props.memory),
      runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
      executionRoleArn: this.executionRole.arn,
      taskRoleArn: this.taskRole.arn,
      // The root file system is read-only; /tmp is the task's ephemeral storage.
      volume: [{ name: "tmp" }],
      containerDefinitions: JSON.stringify([
        {
          name: ENGINE_CONTAINER_NAME,
          image: this.imageUri,
          essential: true,
          // The node image's unprivileged user (the Dockerfile sets it too).
          user: "1000:1000",
          readonlyRootFilesystem: true,
          mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
          portMappings: [{ containerPort: ENGINE_PORT, protocol: "tcp" }],
          environment: Object.entries(environment)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([key, value]) => ({ name: key, value })),
          // An init process forwards SIGTERM to node so that in-flight requests drain.
          linuxParameters: { initProcessEnabled: true },
          stopTimeout: DRAIN_SECONDS,
          healthCheck: {
            command: ["CMD-SHELL", HEALTH_CHECK_COMMAND],
            interval: 15,
            timeout: 5,
            retries: 3,
            startPeriod: 15,
          },
          logConfiguration: {
            logDriver: "awslogs",
            options: {
              "awslogs-group": logGroup.name,
              "awslogs-region": props.region,
              "awslogs-stream-prefix": ENGINE_CONTAINER_NAME,
              // A slow log pipe must not stall request handling.
              mode: "non-blocking",
              "max-buffer-size": "4m",
            },
          },
        },
      ]),
    });

    const prefixList = new DataAwsEc2ManagedPrefixList(this, "cloudfront-prefix-list", {
      name: CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST,
    });
    const albGroup = new SecurityGroup(this, "alb-sg", {
      name: `${name}-alb`,
      description: "s3-edge image ALB: HTTP from the CloudFront VPC origin only",
      vpcId: subnets.vpcId,
    });
    const taskGroup = new SecurityGroup(this, "task-sg", {
      name: `${name}-task`,
      description: "s3-edge image tasks: the engine port from the ALB only; HTTPS out",
      vpcId: subnets.vpcId,
    });
    new VpcSecurityGroupIngressRule(this, "alb-from-cloudfront", {
      securityGroupId: albGroup.id,
      description: "CloudFront origin-facing",
      ipProtocol: "tcp",
      fromPort: LISTENER_PORT,
      toPort: LISTENER_PORT,
      prefixListId: prefixList.id,
    });
    new VpcSecurityGroupEgressRule(this, "alb-to-tasks", {
      securityGroupId: albGroup.id,
      description: "engine port of the tasks",
      ipProtocol: "tcp",
      fromPort: ENGINE_PORT,
      toPort: ENGINE_PORT,
      referencedSecurityGroupId: taskGroup.id,
    });
    new VpcSecurityGroupIngressRule(this, "task-from-alb", {
      securityGroupId: taskGroup.id,
      description: "the image ALB",
      ipProtocol: "tcp",
      fromPort: ENGINE_PORT,
      toPort: ENGINE_PORT,
      referencedSecurityGroupId: albGroup.id,
    });
    new VpcSecurityGroupEgressRule(this, "task-https-out", {
      securityGroupId: taskGroup.id,
      description: "ECR, CloudWatch Logs, S3, DynamoDB over HTTPS",
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "0.0.0.0/0",
    });

    this.loadBalancer = new Lb(this, "alb", {
      name: shortName,
      loadBalancerType: "application",
      internal: true,
      securityGroups: [albGroup.id],
      subnets: subnets.loadBalancerSubnetIds,
      dropInvalidHeaderFields: true,
      // The engine's server keeps idle connections 5 s longer, so the ALB never reuses one it is closing.
      idleTimeout: ALB_IDLE_TIMEOUT_SECONDS,
    });
    const targets = new LbTargetGroup(this, "targets", {
      name: shortName,
      port: ENGINE_PORT,
      protocol: "HTTP",
      targetType: "ip",
      vpcId: subnets.vpcId,
      deregistrationDelay: String(DRAIN_SECONDS),
      healthCheck: {
        path: ENGINE_HEALTH_PATH,
        matcher: "200",
        interval: 15,
        timeout: 5,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
    });
    const listener = new LbListener(this, "http", {
      loadBalancerArn: this.loadBalancer.arn,
      port: LISTENER_PORT,
      protocol: "HTTP",
      defaultAction: [{ type: "forward", targetGroupArn: targets.arn }],
    });
    this.vpcOrigin = new CloudfrontVpcOrigin(this, "vpc-origin", {
      vpcOriginEndpointConfig: [
        {
          name: shortName,
          arn: this.loadBalancer.arn,
          httpPort: LISTENER_PORT,
          // Required by the API even for HTTP; unused.
          httpsPort: 443,
          originProtocolPolicy: "http-only",
          originSslProtocols: [{ items: [CLOUDFRONT_ORIGIN_TLS_PROTOCOL], quantity: 1 }],
        },
      ],
      // CloudFront creates its network interfaces in the ALB's subnets when the listener exists.
      dependsOn: [listener],
    });

    this.cluster = new EcsCluster(this, "cluster", {
      name,
      setting: [{ name: "containerInsights", value: "enabled" }],
    });
    this.service = new EcsService(this, "service", {
      name,
      cluster: this.cluster.arn,
      taskDefinition: this.taskDefinition.arn,
      launchType: "FARGATE",
      platformVersion: "LATEST",
      desiredCount: props.desiredCount,
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriodSeconds: 30,
      propagateTags: "SERVICE",
      enableEcsManagedTags: true,
      networkConfiguration: {
        subnets: subnets.taskSubnetIds,
        securityGroups: [taskGroup.id],
        assignPublicIp: subnets.assignPublicIp,
      },
      loadBalancer: [{ targetGroupArn: targets.arn, containerName: ENGINE_CONTAINER_NAME, containerPort: ENGINE_PORT }],
      // The autoscaling owns the count after the first deploy.
      lifecycle: { ignoreChanges: ["desired_count"] },
      // The target group must be attached to the load balancer before the service registers tasks.
      dependsOn: [listener],
    });

    const scalable = new AppautoscalingTarget(this, "scaling-target", {
      serviceNamespace: "ecs",
      resourceId: `service/${this.cluster.name}/${this.service.name}`,
      scalableDimension: "ecs:service:DesiredCount",
      minCapacity: props.minCount,
      maxCapacity: props.maxCount,
    });
    new AppautoscalingPolicy(this, "cpu-scaling", {
      name: `${name}-cpu`,
      policyType: "TargetTrackingScaling",
      serviceNamespace: scalable.serviceNamespace,
      resourceId: scalable.resourceId,
      scalableDimension: scalable.scalableDimension,
      targetTrackingScalingPolicyConfiguration: {
        predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
        targetValue: props.targetCpuPercent,
        scaleOutCooldown: SCALE_OUT_COOLDOWN_SECONDS,
        scaleInCooldown: SCALE_IN_COOLDOWN_SECONDS,
      },
    });
    this.originDomainName = this.loadBalancer.dnsName;
  }

  /** Pull rights on the repository the image comes from (none for a registry outside ECR). */
  private pullStatements(imageUri: string | undefined): PolicyStatement[] {
    const pull = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
    if (imageUri === undefined) {
      return [{ Sid: "PullEngineImage", Effect: "Allow", Action: pull, Resource: this.repository.arn }];
    }
    const ecr = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/.exec(imageUri);
    if (!ecr) return [];
    const [, account, region, repository] = ecr;
    return [
      {
        Sid: "PullEngineImage",
        Effect: "Allow",
        Action: pull,
        Resource: Partition.of(this).arn("ecr", region, account, `repository/${repository}`),
      },
    ];
  }
}
